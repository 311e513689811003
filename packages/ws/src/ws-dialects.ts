/** The dialects the ws transport speaks (client and server, Node and browser builds). */
import type { Dialect } from '@openclaw-ipc/core';
import { forgeDialect } from './dialects/forge.js';
import { jsonRpcDialect } from './dialects/jsonrpc.js';

/** Dialects the ws transport speaks, the default first. */
export const wsDialects: Record<string, Dialect> = {
  jsonrpc: jsonRpcDialect,
  forge: forgeDialect,
};
