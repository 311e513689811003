/**
 * The browser entry of @openclaw-ipc/core (export condition `browser`): everything that runs on
 * the web platform alone — messages, errors, the JSON codecs and the openclaw-ipc JSON dialect,
 * contracts, the RPC engine, event streams, reconnect — and none of the Node-only parts
 * (native-addon.ts, endpoint-access.ts) nor MessagePack. No module imported from here imports
 * `node:`; test/browser-entry.test.ts checks it.
 */
export * from './allowed-origins.js';
export * from './codec.js';
export * from './contract.js';
export * from './dialect.js';
export { openclawJson, toOpenclawWire } from './dialects/openclaw-json.js';
export * from './errors.js';
export * from './event-stream.js';
export * from './limits.js';
export * from './message.js';
export * from './options.js';
export * from './reconnect.js';
export * from './rpc-client.js';
export * from './rpc-server.js';
export { ResultStream, type StreamItemOf, type StreamOptions } from './stream-client.js';
export * from './transport.js';
export * from './transport-factory.js';
