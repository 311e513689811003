export * from './allowed-origins.js';
export * from './codec.js';
export * from './codec-msgpack.js';
export * from './contract.js';
export * from './dialect.js';
export { msgpackDialect } from './dialects/msgpack.js';
export { openclawJson, toOpenclawWire } from './dialects/openclaw-json.js';
export * from './endpoint-access.js';
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
export * from './native-addon.js';
export { CHANNELS, type ClientRequestTrace, type ServerRequestTrace } from './observability.js';
export * from './options.js';
export * from './reconnect.js';
export * from './rpc-client.js';
export * from './rpc-server.js';
export type { ClientStats, ServerStats } from './stats.js';
export { ResultStream, type StreamItemOf, type StreamIterator, type StreamOptions } from './stream-client.js';
export * from './tls-material.js';
export * from './transport.js';
export * from './transport-factory.js';
