/**
 * nng transport of openclaw-ipc: our own Node-API binding to libnng (fully asynchronous, one
 * nng context per request in flight), a class per SP protocol, the RPC client/server over
 * REQ/REP, and the Rust crate's IpcTransport / TransportPool / ReconnectingTransport API.
 */

export * from './channel.js';
export * from './errors.js';
export * from './factory.js';
export * from './ipc-transport.js';
export { nngVersion, tlsEngine } from './native.js';
export * from './options.js';
export * from './pool.js';
export * from './protocols.js';
export * from './socket.js';
