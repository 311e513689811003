/**
 * The `openclaw-ipc gateway` command:
 *
 *   openclaw-ipc gateway <ws-url> [--token <t>] [--scope <s>]… call <method> [json]
 *   openclaw-ipc gateway <ws-url> [--token <t>] [--scope <s>]… events [name…]
 *   openclaw-ipc gateway <ws-url> [--token <t>] web [--port <p>]
 *
 * `call` prints the response payload as JSON; `events` prints one JSON line per event
 * (`{"event","payload","seq"}`) until interrupted; `web` serves the live gateway page
 * (web-server.ts) on 127.0.0.1 until interrupted. The token also comes from
 * OPENCLAW_GATEWAY_TOKEN.
 */
import { IpcError, RemoteError } from '@openclaw-ipc/core';
import { GatewayClient, type GatewayClientOptions } from './client.js';
import { serveGatewayWeb } from './web-server.js';

export interface GatewayCommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: Record<string, string | undefined>;
  /** Ends `events` (e.g. on SIGINT). */
  signal?: AbortSignal;
  /** Options merged into the client's (tests, embedding). */
  clientOptions?: Partial<GatewayClientOptions>;
}

export const GATEWAY_USAGE =
  'usage: openclaw-ipc gateway <ws-url> [--token <t>] [--scope <s>]... call <method> [json]\n' +
  '       openclaw-ipc gateway <ws-url> [--token <t>] [--scope <s>]... events [name...]\n' +
  '       openclaw-ipc gateway <ws-url> [--token <t>] web [--port <p>]\n';

interface Parsed {
  url: string;
  token?: string;
  scopes: string[];
  command: 'call' | 'events' | 'web';
  rest: string[];
}

function parse(argv: readonly string[]): Parsed {
  const args = [...argv];
  const url = args.shift();
  if (!url || !/^wss?:\/\//.test(url))
    throw new IpcError('INVALID_ARGUMENT', 'expected a ws:// or wss:// URL');
  let token: string | undefined;
  const scopes: string[] = [];
  while (args[0]?.startsWith('--')) {
    const flag = args.shift()!;
    const value = args.shift();
    if (value === undefined) throw new IpcError('INVALID_ARGUMENT', `${flag} needs a value`);
    if (flag === '--token') token = value;
    else if (flag === '--scope') scopes.push(value);
    else throw new IpcError('INVALID_ARGUMENT', `unknown option ${flag}`);
  }
  const command = args.shift();
  if (command !== 'call' && command !== 'events' && command !== 'web')
    throw new IpcError('INVALID_ARGUMENT', 'expected `call`, `events` or `web`');
  return { url, token, scopes, command, rest: args };
}

function describe(err: unknown): string {
  if (err instanceof RemoteError) {
    const details = err.details === undefined ? '' : ` ${JSON.stringify(err.details)}`;
    return `${String(err.remoteCode ?? 'REMOTE')}: ${err.message}${details}`;
  }
  if (err instanceof IpcError) return `${err.code}: ${err.message}`;
  return String(err);
}

/** Runs the command; resolves with the process exit code (0 ok, 1 failure, 2 usage). */
export async function runGatewayCommand(argv: readonly string[], io: GatewayCommandIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.stderr.write(`${describe(err)}\n${GATEWAY_USAGE}`);
    return 2;
  }
  if (parsed.command === 'web') return serveWeb(parsed, io);
  let params: unknown;
  if (parsed.command === 'call') {
    if (!parsed.rest[0]) {
      io.stderr.write(`call needs a method\n${GATEWAY_USAGE}`);
      return 2;
    }
    try {
      params = parsed.rest[1] === undefined ? undefined : JSON.parse(parsed.rest[1]);
    } catch {
      io.stderr.write(`params are not valid JSON: ${parsed.rest[1]}\n`);
      return 2;
    }
  }
  const env = io.env ?? process.env;
  let client: GatewayClient | undefined;
  try {
    client = await GatewayClient.connect({
      url: parsed.url,
      token: parsed.token ?? env.OPENCLAW_GATEWAY_TOKEN,
      client: { id: 'cli', mode: 'cli' },
      ...(parsed.scopes.length ? { scopes: parsed.scopes } : {}),
      reconnect: parsed.command === 'call' ? false : undefined,
      ...io.clientOptions,
    });
    if (parsed.command === 'call') {
      const payload = await client.request(parsed.rest[0]!, params);
      io.stdout.write(`${JSON.stringify(payload, null, 2)}\n`);
      return 0;
    }
    return await printEvents(client, parsed.rest, io);
  } catch (err) {
    io.stderr.write(`${describe(err)}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

async function printEvents(client: GatewayClient, names: string[], io: GatewayCommandIo): Promise<number> {
  const wanted = new Set(names);
  const off = client.onEventFrame((frame) => {
    if (wanted.size && !wanted.has(frame.event)) return;
    io.stdout.write(`${JSON.stringify({ event: frame.event, payload: frame.payload, seq: frame.seq })}\n`);
  });
  try {
    await new Promise<void>((resolve) => {
      if (io.signal?.aborted) return resolve();
      io.signal?.addEventListener('abort', () => resolve(), { once: true });
      client.onState((state) => {
        if (state === 'closed') resolve();
      });
    });
  } finally {
    off();
  }
  if (client.error) {
    io.stderr.write(`${describe(client.error)}\n`);
    return 1;
  }
  return 0;
}

/** `web [--port <p>]`: serves the page until io.signal aborts. */
async function serveWeb(parsed: Parsed, io: GatewayCommandIo): Promise<number> {
  const args = [...parsed.rest];
  let port = 0;
  while (args.length) {
    const flag = args.shift();
    const value = args.shift();
    if (flag !== '--port' || value === undefined || !/^\d+$/.test(value) || Number(value) > 65_535) {
      io.stderr.write(`web takes only --port <p>\n${GATEWAY_USAGE}`);
      return 2;
    }
    port = Number(value);
  }
  const env = io.env ?? process.env;
  try {
    const web = await serveGatewayWeb({
      gatewayUrl: parsed.url,
      token: parsed.token ?? env.OPENCLAW_GATEWAY_TOKEN,
      port,
    });
    io.stdout.write(`serving the gateway page for ${parsed.url} at ${web.url}\n`);
    await new Promise<void>((resolve) => {
      if (io.signal?.aborted) return resolve();
      io.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    await web.close();
    return 0;
  } catch (err) {
    io.stderr.write(`${describe(err)}\n`);
    return 1;
  }
}
