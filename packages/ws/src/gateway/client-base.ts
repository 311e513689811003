/**
 * The OpenClaw gateway client (wire-formats.md §2) on the core RpcClient, without its platform:
 * it performs the challenge/connect/hello handshake on every (re)connection, routes req/res/
 * event frames, watches ticks, honours `shutdown`, and stops at once on errors retrying cannot
 * fix (a wrong token, a protocol window the gateway refuses). How a WebSocket is dialled and
 * where the device key lives is a {@link GatewayPlatform}: client.ts gives the Node one (`ws`,
 * a key file), browser-client.ts the browser one (the platform WebSocket, WebCrypto, IndexedDB).
 */
import {
  type ConnectionState,
  checkOptions,
  DEFAULT_LIMITS,
  type EventStream,
  type EventStreamOptions,
  IpcError,
  type Link,
  type OptionNames,
  type ReconnectOptions,
  type RequestOptions,
  RpcClient,
  sleep,
} from '@openclaw-ipc/core';
import type { DeviceAuthFields, DeviceProof } from './device-payload.js';
import {
  createGatewayDialect,
  GATEWAY_MAX_PROTOCOL,
  GATEWAY_MIN_PROTOCOL,
  type GatewayClientInfo,
  type GatewayErrorShape,
  type GatewayEventFrame,
  type GatewayRole,
  type HelloOk,
  parseGatewayFrame,
} from './protocol.js';
import { RelayLink } from './relay-link.js';
import { mergeAgentsAndSessions, type SyncSnapshot } from './sync.js';

/** What signs the device proof of the handshake (Node's DeviceIdentity, the browser's WebDeviceIdentity). */
export interface DeviceProver {
  /** The `device` object of the connect params, signed over the v3 or v2 payload. */
  prove(fields: DeviceAuthFields, version: 'v2' | 'v3'): DeviceProof | Promise<DeviceProof>;
}

/** What a GatewayClient needs from the platform it runs on. */
export interface GatewayPlatform {
  /** Dials one WebSocket link (the gateway's heartbeat is its ticks: no ping). */
  dial(
    url: string | URL,
    options: { connectTimeout: number; maxMessageSize: number },
    signal?: AbortSignal,
  ): Promise<Link>;
  /** The prover the `device` option names; called once, by the constructor. */
  device(option: unknown): DeviceProver | Promise<DeviceProver> | undefined;
  /** The default `client.platform`. */
  readonly platform: string;
}

/** The options of every GatewayClient, but `device` (whose form depends on the platform). */
export interface GatewayClientBaseOptions {
  /** `ws://host:18789` (or wss://). */
  url: string | URL;
  /** Shared gateway token (OPENCLAW_GATEWAY_TOKEN by convention). */
  token?: string;
  password?: string;
  deviceToken?: string;
  /** Who connects. Default `{ id: 'gateway-client', mode: 'backend', version, platform }`. */
  client?: Partial<GatewayClientInfo>;
  /** Default 'operator'. */
  role?: GatewayRole;
  /** Default ['operator.read']. */
  scopes?: string[];
  /** Protocol window offered. Default 3 to 4. */
  minProtocol?: number;
  maxProtocol?: number;
  /** Signature payload version for the device proof. Default 'v3'. */
  signatureVersion?: 'v2' | 'v3';
  locale?: string;
  userAgent?: string;
  /** Milliseconds for one connection, handshake and startup waits included. Default 10 000. */
  connectTimeout?: number;
  /** Wait (retryAfterMs) and retry while the gateway answers UNAVAILABLE retryable. Default true. */
  waitForStartup?: boolean;
  /** Default request timeout in ms. Default 30 000. */
  timeout?: number;
  /** Reconnect policy after a lost link; false: none. Default 1 s to 30 s with jitter. */
  reconnect?: ReconnectOptions | false;
  /** Silence (ms) after which the link is declared dead. Default 2 x policy.tickIntervalMs. */
  tickTimeoutMs?: number;
  /** Largest message sent or accepted. Default 25 MiB (the gateway's own `policy.maxPayload`). */
  maxMessageSize?: number;
  /** Failures nobody awaits (undecodable frames, invalid events). */
  onError?: (error: IpcError) => void;
}

const gatewayClientOptionNames: OptionNames<GatewayClientBaseOptions & { device?: unknown }> = {
  url: true,
  token: true,
  password: true,
  deviceToken: true,
  client: true,
  role: true,
  scopes: true,
  minProtocol: true,
  maxProtocol: true,
  device: true,
  signatureVersion: true,
  locale: true,
  userAgent: true,
  connectTimeout: true,
  waitForStartup: true,
  timeout: true,
  reconnect: true,
  tickTimeoutMs: true,
  maxMessageSize: true,
  onError: true,
};

/** A gap in an event sequence: events between `expected` and `received` never arrived. */
export interface SeqGap {
  expected: number;
  received: number;
  event: string;
}

const CLIENT_VERSION = '0.1.0';
/** The gateway's own message limit (its `policy.maxPayload`), the client's default. */
export const GATEWAY_MAX_MESSAGE_SIZE = 25 * 1024 * 1024;

/** The IpcError for a refused handshake; `fatal` ones are not retried. */
export function handshakeError(
  error: GatewayErrorShape,
  offered: { min: number; max: number },
): IpcError & { fatal?: boolean } {
  const details = (error.details ?? {}) as Record<string, unknown>;
  const detailCode = typeof details.code === 'string' ? details.code : '';
  const all = { ...error };
  let out: IpcError & { fatal?: boolean };
  if (detailCode === 'PROTOCOL_MISMATCH' || /protocol mismatch/i.test(error.message)) {
    const expected = details.expectedProtocol;
    out = new IpcError(
      'PROTOCOL',
      `gateway refused the protocol window ${offered.min}..${offered.max}: it speaks protocol ${String(expected ?? 'unknown')}`,
      { details: all },
    );
    out.fatal = true;
  } else if (error.code === 'UNAVAILABLE') {
    out = new IpcError('UNAVAILABLE', `gateway unavailable: ${error.message}`, { details: all });
  } else if (
    detailCode.startsWith('AUTH_') ||
    // DEVICE_…, and CONTROL_UI_DEVICE_IDENTITY_REQUIRED (the Control UI without a device).
    detailCode.includes('DEVICE_') ||
    ['NOT_PAIRED', 'FORBIDDEN', 'UNAUTHORIZED'].includes(error.code) ||
    /^unauthorized/i.test(error.message)
  ) {
    out = new IpcError('AUTH', `gateway refused the credentials: ${error.message}`, { details: all });
    out.fatal = true;
  } else {
    out = new IpcError('CONNECT', `gateway refused the connection: ${error.code} ${error.message}`, {
      details: all,
    });
  }
  return out;
}

/** Calls `unref()` on a Node timer, so that it keeps no process alive (browser timers have none). */
const unrefTimer = (timer: unknown): void => (timer as { unref?: () => void }).unref?.();

/**
 * The gateway client on a given platform. Users construct the GatewayClient of their build
 * (Node or browser), which only adds the platform.
 */
export class GatewayClientBase {
  private readonly rpc: RpcClient;
  private readonly options: GatewayClientBaseOptions;
  private readonly platform: GatewayPlatform;
  private readonly device: Promise<DeviceProver | undefined>;
  private readonly gapListeners = new Set<(gap: SeqGap) => void>();
  private readonly frameListeners = new Set<(frame: GatewayEventFrame) => void>();
  private readonly helloListeners = new Set<(hello: HelloOk) => void>();
  private current: RelayLink | undefined;
  private lastSeq: number | undefined;
  private lastFrameAt = 0;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private resumeAt = 0;
  private _hello: HelloOk | undefined;
  private _error: IpcError | undefined;
  /** Handshakes answered UNAVAILABLE (retryable) and retried after retryAfterMs. */
  startupRetries = 0;

  /** @throws IpcError INVALID_ARGUMENT for an unknown option, or what `platform.device` throws. */
  constructor(options: GatewayClientBaseOptions & { device?: unknown }, platform: GatewayPlatform) {
    checkOptions(options, gatewayClientOptionNames, 'GatewayClient');
    this.options = options;
    this.platform = platform;
    this.device = Promise.resolve(options.device === undefined ? undefined : platform.device(options.device));
    // A device that cannot be loaded fails the handshake (and each retry), not the process.
    this.device.catch(() => {});
    this.rpc = new RpcClient({
      dialect: createGatewayDialect({
        onFrame: () => {
          this.lastFrameAt = Date.now();
        },
        onEvent: (frame) => this.handleEventFrame(frame),
      }),
      link: (signal) => this.dial(signal),
      timeout: options.timeout,
      reconnect:
        options.reconnect === false ? false : { minDelay: 1000, maxDelay: 30_000, ...options.reconnect },
      maxMessageSize: options.maxMessageSize ?? GATEWAY_MAX_MESSAGE_SIZE,
      onError: options.onError,
    });
    this.rpc.on('shutdown', (data) => {
      const ms = (data as { restartExpectedMs?: unknown } | null)?.restartExpectedMs;
      this.resumeAt = Date.now() + (typeof ms === 'number' && ms > 0 ? ms : 0);
    });
    this.rpc.onState((state) => {
      if (state !== 'open') this.stopWatchdog();
    });
  }

  /** Dials the first connection. */
  async start(): Promise<void> {
    try {
      await this.rpc.start();
    } catch (err) {
      throw this._error ?? IpcError.from(err, 'CONNECT');
    }
  }

  /** The hello-ok of the current (or last) connection. */
  get hello(): HelloOk | undefined {
    return this._hello;
  }
  /** The protocol version agreed with the gateway. */
  get protocol(): number | undefined {
    return this._hello?.protocol;
  }
  /** The connection id the gateway gave (hello-ok.server.connId). */
  get connId(): string | undefined {
    return this._hello?.server.connId;
  }
  /** Methods the gateway offers (hello-ok.features.methods). */
  get methods(): readonly string[] {
    return this._hello?.features.methods ?? [];
  }
  /** Events the gateway may send (hello-ok.features.events). */
  get eventNames(): readonly string[] {
    return this._hello?.features.events ?? [];
  }
  get state(): ConnectionState {
    return this.rpc.state;
  }
  /** The error that stopped the client for good (AUTH, PROTOCOL), if any. */
  get error(): IpcError | undefined {
    return this._error;
  }

  /**
   * Calls a gateway method; resolves with the response's `payload`, rejects with a RemoteError
   * carrying the gateway's code (remoteCode), details, retryable and retryAfterMs.
   */
  request<T = unknown>(method: string, params?: unknown, options?: RequestOptions): Promise<T> {
    return this.rpc.request(method, params as never, options) as Promise<T>;
  }

  /** Calls `handler(payload, event)` for each event named `name` ('*': all). Returns the unsubscriber. */
  on(name: string, handler: (payload: unknown, event: string) => void): () => void {
    return this.rpc.on(name, handler);
  }

  /** Events named `name` as an async iterator with a bounded queue. */
  events<T = unknown>(name: string, options?: EventStreamOptions): EventStream<T> {
    return this.rpc.events(name, options) as EventStream<T>;
  }

  /** Every event frame as received (with seq and stateVersion). */
  onEventFrame(listener: (frame: GatewayEventFrame) => void): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  /** Called when event seq numbers skip (events were lost): resynchronise then. */
  onGap(listener: (gap: SeqGap) => void): () => void {
    this.gapListeners.add(listener);
    return () => this.gapListeners.delete(listener);
  }

  /** Called after each successful handshake (first connection and reconnections). */
  onHello(listener: (hello: HelloOk) => void): () => void {
    this.helloListeners.add(listener);
    return () => this.helloListeners.delete(listener);
  }

  onState(listener: (state: ConnectionState, error?: IpcError) => void): () => void {
    return this.rpc.onState(listener);
  }

  /** agents.list and sessions.list, fetched together and merged (sessions under their agent). */
  async sync(options?: RequestOptions): Promise<SyncSnapshot> {
    const [agents, sessions] = await Promise.all([
      this.request('agents.list', {}, options),
      this.request('sessions.list', {}, options),
    ]);
    return mergeAgentsAndSessions(agents, sessions);
  }

  /** Closes the client: pending requests reject CLOSED, event iterators end. */
  close(): void {
    this.stopWatchdog();
    this.rpc.close();
  }

  // ---- connection ----

  private async dial(signal?: AbortSignal): Promise<Link> {
    if (this._error) throw this._error;
    const wait = this.resumeAt - Date.now();
    if (wait > 0) await sleep(wait, signal);
    const timeout = this.options.connectTimeout ?? DEFAULT_LIMITS.connectTimeout;
    const deadline = Date.now() + timeout;
    for (;;) {
      try {
        return await this.attempt(deadline, signal);
      } catch (err) {
        const e = IpcError.from(err, 'CONNECT') as IpcError & { fatal?: boolean };
        const d = (e.details ?? {}) as GatewayErrorShape;
        const after = typeof d.retryAfterMs === 'number' ? d.retryAfterMs : 500;
        if (
          e.code === 'UNAVAILABLE' &&
          d.retryable &&
          this.options.waitForStartup !== false &&
          Date.now() + after < deadline
        ) {
          this.startupRetries++;
          await sleep(after, signal);
          continue;
        }
        if (e.fatal) {
          // Retrying cannot fix it: stop the client instead of storming the gateway.
          this._error = e;
          queueMicrotask(() => this.rpc.close());
        }
        throw e;
      }
    }
  }

  private async attempt(deadline: number, signal?: AbortSignal): Promise<Link> {
    const remaining = Math.max(1, deadline - Date.now());
    const link = await this.platform.dial(
      this.options.url,
      { connectTimeout: remaining, maxMessageSize: this.options.maxMessageSize ?? GATEWAY_MAX_MESSAGE_SIZE },
      signal,
    );
    const offered = {
      min: this.options.minProtocol ?? GATEWAY_MIN_PROTOCOL,
      max: this.options.maxProtocol ?? GATEWAY_MAX_PROTOCOL,
    };
    const connectId = `connect-${Date.now().toString(36)}`;
    return new Promise<Link>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(
        () => fail(new IpcError('TIMEOUT', `gateway handshake timed out after ${remaining} ms`)),
        Math.max(1, deadline - Date.now()),
      );
      const fail = (err: IpcError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        relay.close();
        reject(err);
      };
      const relay: RelayLink = new RelayLink(link, {
        onFrame: (frame) => {
          if (done) return;
          let value: Record<string, unknown>;
          try {
            value = parseGatewayFrame(frame);
          } catch (err) {
            fail(IpcError.from(err));
            return;
          }
          if (value.type === 'event' && value.event === 'connect.challenge') {
            const nonce = (value.payload as { nonce?: unknown } | undefined)?.nonce;
            // The device proof may be signed asynchronously (WebCrypto).
            this.connectParams(offered, String(nonce ?? ''))
              .then((params) => {
                if (done) return;
                relay.send(JSON.stringify({ type: 'req', id: connectId, method: 'connect', params }));
              })
              .catch((err: unknown) => fail(IpcError.from(err, 'CONNECT')));
            return;
          }
          if (value.type !== 'res' || value.id !== connectId) return;
          if (value.ok !== true) {
            fail(
              handshakeError(
                (value.error ?? { code: 'UNKNOWN', message: 'connect refused' }) as GatewayErrorShape,
                offered,
              ),
            );
            return;
          }
          done = true;
          clearTimeout(timer);
          relay.handOver();
          this.adopt(relay, value.payload as HelloOk);
          resolve(relay);
        },
        onClose: (error) =>
          fail(
            error?.code === 'AUTH'
              ? Object.assign(error, { fatal: true })
              : new IpcError(
                  'CONNECT',
                  `gateway closed the connection during the handshake${error ? `: ${error.message}` : ''}`,
                  { cause: error },
                ),
          ),
      });
      relay.start();
    });
  }

  private async connectParams(
    offered: { min: number; max: number },
    nonce: string,
  ): Promise<Record<string, unknown>> {
    const o = this.options;
    const client: GatewayClientInfo = {
      id: 'gateway-client',
      version: CLIENT_VERSION,
      platform: this.platform.platform,
      mode: 'backend',
      ...o.client,
    };
    const role = o.role ?? 'operator';
    const scopes = o.scopes ?? ['operator.read'];
    const auth: Record<string, string> = {};
    if (o.token !== undefined) auth.token = o.token;
    if (o.password !== undefined) auth.password = o.password;
    if (o.deviceToken !== undefined) auth.deviceToken = o.deviceToken;
    const params: Record<string, unknown> = {
      minProtocol: offered.min,
      maxProtocol: offered.max,
      client,
      role,
      scopes,
      auth,
    };
    const device = await this.device;
    if (device) {
      params.device = await device.prove(
        {
          clientId: client.id,
          clientMode: client.mode,
          role,
          scopes,
          signedAtMs: Date.now(),
          token: o.token ?? o.deviceToken,
          nonce,
          platform: client.platform,
          deviceFamily: client.deviceFamily,
        },
        o.signatureVersion ?? 'v3',
      );
    }
    if (o.locale !== undefined) params.locale = o.locale;
    if (o.userAgent !== undefined) params.userAgent = o.userAgent;
    return params;
  }

  private adopt(relay: RelayLink, hello: HelloOk): void {
    this.current = relay;
    this._hello = hello;
    this.lastSeq = undefined;
    this.lastFrameAt = Date.now();
    this.startWatchdog(relay, hello);
    for (const listener of this.helloListeners) listener(hello);
  }

  // ---- liveness and events ----

  private startWatchdog(relay: RelayLink, hello: HelloOk): void {
    this.stopWatchdog();
    const tick = hello.policy?.tickIntervalMs;
    const limit = this.options.tickTimeoutMs ?? (typeof tick === 'number' && tick > 0 ? 2 * tick : 0);
    if (!(limit > 0)) return;
    this.watchdog = setInterval(
      () => {
        if (this.current !== relay) return this.stopWatchdog();
        const silent = Date.now() - this.lastFrameAt;
        if (silent <= limit) return;
        this.stopWatchdog();
        relay.close(
          new IpcError(
            'TIMEOUT',
            `no frame from the gateway for ${silent} ms (limit ${limit}): dead link (close 4000)`,
          ),
        );
      },
      Math.max(20, Math.floor(limit / 4)),
    );
    unrefTimer(this.watchdog);
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private handleEventFrame(frame: GatewayEventFrame): void {
    if (typeof frame.seq === 'number') {
      const last = this.lastSeq;
      if (last !== undefined && frame.seq > last + 1) {
        const gap = { expected: last + 1, received: frame.seq, event: frame.event };
        for (const listener of this.gapListeners) listener(gap);
      }
      this.lastSeq = frame.seq;
    }
    for (const listener of this.frameListeners) listener(frame);
  }
}
