/**
 * The Node entry of @openclaw-ipc/core: everything of the browser entry (browser.ts) and the parts
 * that need Node (MessagePack, endpoint access checks, native addon loading, TLS material).
 */
export * from './browser.js';
export * from './codec-msgpack.js';
export { msgpackDialect } from './dialects/msgpack.js';
export * from './endpoint-access.js';
export * from './native-addon.js';
export * from './tls-material.js';
