/**
 * The options of `connect(url, options)` and `listen(url, options)`, typed by the URL's scheme.
 *
 * A URL written as a literal (`connect('unix:///tmp/x.sock', …)`) has a known scheme, so its
 * options are exactly its transport's: a misspelt option, or another transport's, is a type
 * error naming it. A URL only known as `string` or `URL` takes the union of every transport's
 * options (a misspelt name is still an error; one that belongs to another transport is caught
 * at run time by the transport, INVALID_ARGUMENT).
 */
import type {
  AnyContract,
  ConnectOptions,
  Contract,
  ListenOptions,
  TransportFactory,
} from '@openclaw-ipc/core';
import type { fileTransport } from '@openclaw-ipc/file';
import type { nngTransport } from '@openclaw-ipc/nng';
import type { rdmaTransport } from '@openclaw-ipc/rdma';
import type { unixTransport } from '@openclaw-ipc/unix';
import type { wsTransport } from '@openclaw-ipc/ws';

/**
 * The transport of each URL scheme, for typing options. A package that registers another
 * transport types its schemes by declaration merging:
 * `declare module 'openclaw-ipc' { interface TransportsByScheme { 'my+tcp': typeof myTransport } }`.
 */
export interface TransportsByScheme {
  unix: typeof unixTransport;
  'nng+ipc': typeof nngTransport;
  'nng+tcp': typeof nngTransport;
  'nng+ws': typeof nngTransport;
  'nng+tls+tcp': typeof nngTransport;
  'nng+inproc': typeof nngTransport;
  ws: typeof wsTransport;
  wss: typeof wsTransport;
  file: typeof fileTransport;
  'rdma+shm': typeof rdmaTransport;
  'rdma+cma': typeof rdmaTransport;
  'rdma+verbs': typeof rdmaTransport;
}

/** The scheme of a URL literal (`'unix:///x'` → `'unix'`); never for a plain string or a URL. */
export type SchemeOf<U> = string extends U ? never : U extends `${infer S}:${string}` ? S : never;

/** The transport a URL reaches: its scheme's, or any of them when the scheme is not known. */
type TransportOf<U> = [SchemeOf<U>] extends [keyof TransportsByScheme]
  ? [SchemeOf<U>] extends [never]
    ? TransportsByScheme[keyof TransportsByScheme]
    : TransportsByScheme[SchemeOf<U>]
  : TransportsByScheme[keyof TransportsByScheme];

type ConnectExtras<F> = F extends TransportFactory<infer X, any> ? X : never;
type ListenExtras<F> = F extends TransportFactory<any, infer X> ? X : never;

/** The options `connect(url, options)` takes for a URL of type `U`. */
export type UrlConnectOptions<U, C extends Contract = AnyContract> = ConnectOptions<C> &
  ConnectExtras<TransportOf<U>>;

/** The options `listen(url, options)` takes for a URL of type `U`. */
export type UrlListenOptions<U, C extends Contract = AnyContract> = ListenOptions<C> &
  ListenExtras<TransportOf<U>>;
