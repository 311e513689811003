/**
 * The `openclaw-ipc` command line: serve, call, bench (and gateway, from @openclaw-ipc/ws).
 * Exit codes: 0 success, 1 a failure (the IpcError code and message on stderr), 2 a usage error.
 */
import { parseArgs } from 'node:util';
import { sidecarDemoHandlers } from '@openclaw-ipc/unix';
import { runGatewayCommand } from '@openclaw-ipc/ws';
import '../builtin.js';
import { demoHandlers, demoNeedle, startDemoTicks } from '../demo-service.js';
import { connect, knownSchemes, listen, transportFor } from '../registry.js';
import { formatRate, runBench } from './bench.js';
import { describeError, parseParams, table, toJsonText } from './format.js';
import { printEvents, printStream } from './stream-commands.js';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Resolves when the process should stop serving (SIGINT/SIGTERM). */
  stopSignal?: Promise<void>;
}

const USAGE = `usage:
  openclaw-ipc serve <url> [--dialect <name>] [--allow-origin <origin>]... [--socket-mode <octal>]
                     [--file-mode <octal>] [--shared-folder]
  openclaw-ipc call <url> <method> [json-params] [--timeout <ms>] [--dialect <name>] [--stream]
  openclaw-ipc events <url> [name]... [--dialect <name>]
  openclaw-ipc bench <url> [--size <bytes>] [--concurrency <n>] [--duration <s>] [--method echo|blob] [--dialect <name>]
  openclaw-ipc gateway <ws-url> [--token <t>] call <method> [json] | events | web [--port <p>]
  openclaw-ipc schemes

urls: unix:///tmp/x.sock  nng+ipc:///tmp/x.ipc  nng+tcp://127.0.0.1:5555  ws://127.0.0.1:8080/
      file:///tmp/chan?role=backend  rdma+shm:///tmp/r.sock  rdma+cma:///tmp/r.sock  rdma+verbs://10.0.0.1:7471
      (bench --method blob over rdma reports GB/s; serve rdma+cma://… --dialect sidecar serves StartRead for real)`;

class UsageError extends Error {}

const num = (value: string | undefined, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number`);
  return n;
};

function stopOnSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** A mode written in octal (`660`, `0660`, `0o660`); the transport checks what it allows. */
function octalMode(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:0o?)?([0-7]{3})$/.exec(value);
  if (!m) throw new UsageError(`--${name} must be an octal mode such as 600 or 660`);
  return Number.parseInt(m[1]!, 8);
}

const SOCKET_SCHEMES = /^(unix|nng\+ipc|rdma\+shm|rdma\+cma):/;

/** Who may reach the server, from serve's options; each only where its transport uses it. */
function accessOptions(url: string, values: Record<string, string | boolean | string[] | undefined>) {
  const origins = values['allow-origin'] as string[] | undefined;
  const socketMode = octalMode(values['socket-mode'] as string | undefined, 'socket-mode');
  const fileMode = octalMode(values['file-mode'] as string | undefined, 'file-mode');
  const sharedFolder = values['shared-folder'] === true ? true : undefined;
  const ws = /^wss?:/.test(url);
  const file = url.startsWith('file:');
  if (origins && !ws)
    throw new UsageError('--allow-origin applies to ws:// servers (nng+ws:// cannot check an Origin)');
  if (socketMode !== undefined && !SOCKET_SCHEMES.test(url))
    throw new UsageError('--socket-mode applies to unix:, nng+ipc:, rdma+shm: and rdma+cma: servers');
  if (fileMode !== undefined && !file) throw new UsageError('--file-mode applies to file: channels');
  if (sharedFolder && !file && !SOCKET_SCHEMES.test(url))
    throw new UsageError('--shared-folder applies to file: channels and socket files');
  return {
    ...(origins ? { allowedOrigins: origins } : {}),
    ...(socketMode !== undefined ? { socketMode } : {}),
    ...(fileMode !== undefined ? { fileMode } : {}),
    ...(sharedFolder ? { sharedFolder } : {}),
  };
}

async function serve(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      dialect: { type: 'string' },
      tick: { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      'socket-mode': { type: 'string' },
      'file-mode': { type: 'string' },
      'shared-folder': { type: 'boolean' },
    },
    allowPositionals: true,
  });
  const url = positionals[0];
  if (!url) throw new UsageError('serve needs a <url>');
  // Over rdma the sidecar protocol is served for real (StartRead/CompleteRead over demo needles).
  const rdma = url.startsWith('rdma+');
  const server = await listen(url, {
    dialect: values.dialect,
    ...accessOptions(url, values),
    ...(rdma ? { resolveNeedle: demoNeedle } : {}),
  });
  // The sidecar protocol has its own messages (Ping, GetCapabilities, …) and no events.
  const sidecar = server.dialect.name === 'sidecar';
  const handlers = sidecar
    ? rdma
      ? {}
      : sidecarDemoHandlers()
    : demoHandlers({ binary: server.dialect.frames === 'binary' });
  for (const [method, handler] of Object.entries(handlers)) server.handle(method, handler);
  const stopTicks = sidecar ? () => {} : startDemoTicks(server, num(values.tick, 'tick', 1000));
  io.stdout.write(`listening on ${server.address ?? url} (dialect ${server.dialect.name})\n`);
  await (io.stopSignal ?? stopOnSignal());
  stopTicks();
  await server.close();
  return 0;
}

async function call(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { dialect: { type: 'string' }, timeout: { type: 'string' }, stream: { type: 'boolean' } },
    allowPositionals: true,
  });
  const [url, method, json] = positionals;
  if (!url || !method) throw new UsageError('call needs <url> <method>');
  const params = parseParams(json);
  // A stream lasts as long as it has items: only an explicit --timeout bounds it.
  const timeout = num(values.timeout, 'timeout', values.stream ? 0 : 30_000);
  // The connect timeout too, where the transport has one (a file channel does not dial).
  const dials = transportFor(url).factory.optionNames.connect.includes('connectTimeout');
  const client = await connect(url, {
    dialect: values.dialect,
    reconnect: false,
    timeout,
    ...(dials ? { connectTimeout: timeout || 30_000 } : {}),
  });
  try {
    if (values.stream) {
      return await printStream(client, method, params, timeout, {
        ...io,
        stop: io.stopSignal ?? stopOnSignal(),
      });
    }
    const result = await client.request(method, params);
    io.stdout.write(`${toJsonText(result)}\n`);
    return 0;
  } finally {
    client.close();
  }
}

async function bench(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      dialect: { type: 'string' },
      size: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      method: { type: 'string' },
    },
    allowPositionals: true,
  });
  const url = positionals[0];
  if (!url) throw new UsageError('bench needs a <url>');
  const method = values.method ?? 'echo';
  if (method !== 'echo' && method !== 'blob') throw new UsageError('--method is echo or blob');
  const r = await runBench(url, {
    size: num(values.size, 'size', 64),
    concurrency: num(values.concurrency, 'concurrency', 1),
    duration: num(values.duration, 'duration', 5),
    method,
    dialect: values.dialect,
    progress: true,
  });
  io.stdout.write(
    `${table([
      {
        url: r.url,
        method: r.method,
        size: r.size,
        concurrency: r.concurrency,
        requests: r.requests,
        'round trips/s': Math.round(r.rps),
        'p50 µs': Number(r.p50.toFixed(1)),
        'p99 µs': Number(r.p99.toFixed(1)),
        throughput: formatRate(r.bytesPerSecond),
      },
    ])}\n`,
  );
  return 0;
}

/** Runs one command line; resolves with the exit code. */
export async function main(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest, io);
      case 'call':
        return await call(rest, io);
      case 'bench':
        return await bench(rest, io);
      case 'gateway':
        return await gateway(rest, io);
      case 'events':
        return await events(rest, io);
      case 'schemes':
        io.stdout.write(`${knownSchemes().join('\n')}\n`);
        return 0;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`${describeError(err)}\n`);
    return 1;
  }
}

async function events(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { dialect: { type: 'string' } },
    allowPositionals: true,
  });
  const [url, ...names] = positionals;
  if (!url) throw new UsageError('events needs a <url>');
  const client = await connect(url, { dialect: values.dialect, reconnect: false });
  try {
    return await printEvents(client, names, { ...io, stop: io.stopSignal ?? stopOnSignal() });
  } finally {
    client.close();
  }
}

async function gateway(args: string[], io: CliIo): Promise<number> {
  const stop = new AbortController();
  void (io.stopSignal ?? stopOnSignal()).then(() => stop.abort());
  return runGatewayCommand(args, {
    stdout: io.stdout,
    stderr: io.stderr,
    env: process.env,
    signal: stop.signal,
  });
}
