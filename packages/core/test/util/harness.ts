/** Helpers shared by the engine's tests: a client and a server joined by an in-memory network. */
import {
  type AnyContract,
  type Contract,
  type Dialect,
  type IpcMessage,
  msgpackDialect,
  parseJson,
  parseMessage,
  RpcClient,
  type RpcClientOptions,
  RpcServer,
  type RpcServerOptions,
  stringifyJson,
} from '@openclaw-ipc/core';
import { afterEach } from 'vitest';
import { MemoryNetwork } from './memory-link.js';

const cleanups: Array<() => unknown> = [];
/** Runs `fn` after the current test. */
export const onCleanup = (fn: () => unknown): void => {
  cleanups.push(fn);
};
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

let nextName = 0;

export interface PairOptions<C extends Contract> {
  dialect?: Dialect;
  client?: Partial<RpcClientOptions<C>>;
  server?: Partial<RpcServerOptions<C>>;
}

/** A server listening on a fresh in-memory address and a client connected to it. */
export async function rpcPair<C extends Contract = AnyContract>(options: PairOptions<C> = {}) {
  const dialect = options.dialect ?? msgpackDialect;
  const network = new MemoryNetwork();
  const name = `srv${nextName++}`;
  const server = new RpcServer<C>({ dialect, ...options.server });
  const listener = network.listen(name);
  server.serve(listener);
  const client = await RpcClient.connect<C>({
    dialect,
    link: network.connector(name),
    ...options.client,
  });
  onCleanup(() => server.close());
  onCleanup(() => client.close());
  return { server, client, listener, network, name };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, got a value');
}

/** Waits until `check` holds, polling the event loop (bounded by the test's timeout). */
export async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 2));
}

/** Resolves after `ms` milliseconds. */
export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A JSON dialect with batches (a JSON array of messages in one frame, answered by an array), for
 * the server's batch handling. Messages are written as they are, error codes included.
 */
export const jsonBatchDialect: Dialect = {
  name: 'json-batch',
  frames: 'text',
  cancellable: true,
  encode: (m) => stringifyJson(m),
  decode(frame) {
    const value = parseJson(typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8'));
    return Array.isArray(value) ? value.map(parseMessage) : parseMessage(value);
  },
  encodeBatch: (messages: IpcMessage[]) => stringifyJson(messages),
};
