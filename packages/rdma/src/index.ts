/**
 * RDMA transport for openclaw-ipc: one-sided reads over shared memory (shm), cross-memory attach
 * (cma) or ibverbs (verbs), large messages by rendezvous, and the SeaweedFS sidecar engine
 * protocol served for real.
 */
export * from './control.js';
export { type HandshakeOptions, handshake } from './handshake.js';
export {
  crc32c,
  type PeerCredentials,
  RECEIVE_BUFFER_MIN,
  receiveBuffer,
  receiveCache,
} from './native-bridge.js';
export * from './out-of-band.js';
export * from './providers/provider.js';
export { providerByName } from './providers/registry.js';
export * from './rdma-link.js';
export * from './sidecar-engine.js';
export * from './sidecar-reader.js';
export * from './transport.js';
