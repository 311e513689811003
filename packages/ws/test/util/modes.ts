/**
 * The two ways the ws package runs, for tests that must hold in both: the default path (public
 * APIs of Node and ws only) and the opt-in fast path of src/internals.ts (`fastPath: true`).
 */
import { publicUtf8, type Utf8Codec } from '../../src/buffer-util.js';
import { fastUtf8 } from '../../src/internals.js';

export interface LinkMode {
  name: string;
  /** The option a link, listener or client gets. */
  fastPath: boolean;
}

export const LINK_MODES: LinkMode[] = [
  { name: 'public APIs (default)', fastPath: false },
  { name: 'fastPath (internals)', fastPath: true },
];

/** Buffer's public UTF-8 methods, and the unchecked ones of the fast path (this Node has them). */
export const UTF8_CODECS: Array<[string, Utf8Codec]> = [
  ['public', publicUtf8],
  ['unchecked', fastUtf8()!],
];

// The fast-path tests need it on: the switch that turns it off is tested on its own.
delete process.env.OPENCLAW_IPC_NO_INTERNALS;
