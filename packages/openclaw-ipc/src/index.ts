/**
 * openclaw-ipc: typed request/response + events over nng, files, WebSocket, Unix sockets and
 * RDMA, chosen by URL. Re-exports the core API and every transport package.
 */
import './builtin.js';

export * from '@openclaw-ipc/core';
export * as file from '@openclaw-ipc/file';
export { FileChannel } from '@openclaw-ipc/file';
export * as nng from '@openclaw-ipc/nng';
export * as rdma from '@openclaw-ipc/rdma';
export * as unix from '@openclaw-ipc/unix';
export * as ws from '@openclaw-ipc/ws';
export { GatewayClient } from '@openclaw-ipc/ws';
export { type BenchOptions, type BenchResult, runBench } from './cli/bench.js';
export { demoHandlers, MAX_DEMO_BLOB, startDemoTicks } from './demo-service.js';
export {
  connect,
  type FailoverConnectOptions,
  knownSchemes,
  listen,
  registerTransport,
  transportFor,
  transports,
} from './registry.js';
export type { SchemeOf, TransportsByScheme, UrlConnectOptions, UrlListenOptions } from './url-options.js';
