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
export {
  CLIENT_URL,
  type ClientRoute,
  DEFAULT_PROBE_INTERVAL,
  ROUTE_ONLY,
  type RouteOfClient,
  routeOf,
} from './failover.js';
export { HISTOGRAM_BUCKETS, LatencyHistogram, type LatencySummary } from './histogram.js';
export { IdTable } from './id-table.js';
export {
  type ClientCall,
  type ClientCallKind,
  type ClientInterceptor,
  type ClientOutcome,
  interceptStream,
  isTransient,
  type RetryOptions,
  retryIdempotent,
  type ServerCall,
  type ServerInterceptor,
} from './interceptors.js';
export * from './limits.js';
export * from './message.js';
export { CHANNELS, type ClientRequestTrace, type ServerRequestTrace } from './observability.js';
export * from './options.js';
export * from './reconnect.js';
export * from './rpc-client.js';
export * from './rpc-server.js';
export type { ClientStats, ServerStats } from './stats.js';
export { ResultStream, type StreamItemOf, type StreamIterator, type StreamOptions } from './stream-client.js';
export * from './transport.js';
export * from './transport-factory.js';
