/** Registers the transports shipped with openclaw-ipc. Imported for its effect. */
import { nngTransport } from '@openclaw-ipc/nng';
import { unixTransport } from '@openclaw-ipc/unix';
import { registerTransport } from './registry.js';

registerTransport(unixTransport);
registerTransport(nngTransport);
