export * from './channel.js';
export * from './demo.js';
export * from './dialect.js';
export * from './messages.js';
export { decodeSidecar, encodeSidecar, readEnvelope, type SidecarEncoding } from './wire.js';
