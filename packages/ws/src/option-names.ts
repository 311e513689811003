/**
 * The names of the ws package's options, for the run-time checks (checkOptions); typed against
 * the option types, so a name cannot be missing or extra. Internal: not exported by the package.
 */
import { LISTEN_OPTION_NAMES, type OptionNames } from '@openclaw-ipc/core';
import type { WsServerOptions } from './server.js';

/** The names of {@link WsServerOptions}, for the run-time check. */
export const wsServerOptionNames: OptionNames<WsServerOptions> = {
  ...LISTEN_OPTION_NAMES,
  host: true,
  port: true,
  path: true,
  server: true,
  capacityReply: true,
  maxPreAuthMessageSize: true,
  allowedOrigins: true,
  authToken: true,
  heartbeatInterval: true,
  perMessageDeflate: true,
  highWaterMark: true,
  maxQueuedBytes: true,
  maxHeldFrames: true,
  fastPath: true,
  coalesce: true,
  cert: true,
  key: true,
  passphrase: true,
  ca: true,
  requestCert: true,
};
