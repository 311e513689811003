// The server side of bench/nng/bench.ts, run in its own process (like the C floor's server).
//   servers.ts nng <url>     our RepSocket, echoing every request (64 contexts)
//   servers.ts rpc <url>     our RpcServer (openclaw-ipc JSON), method `echo`
//   servers.ts zmq <url>     zeromq.js Reply, echoing
//   servers.ts net <path>    node:net over a Unix socket: u32 LE length-prefixed echo
import { createServer } from 'node:net';
import { listenNng, RepSocket } from '@openclaw-ipc/nng';
import { Reply } from 'zeromq';

const [kind, address] = process.argv.slice(2) as [string, string];

async function main(): Promise<void> {
  switch (kind) {
    case 'nng': {
      const rep = new RepSocket();
      rep.listen(address);
      rep.serve((data, reply) => reply(data), { concurrency: 64 });
      break;
    }
    case 'rpc':
      await listenNng(address, { handlers: { echo: (p: unknown) => p } });
      break;
    case 'zmq': {
      const sock = new Reply();
      await sock.bind(address);
      void (async () => {
        for await (const [msg] of sock) await sock.send(msg!);
      })();
      break;
    }
    case 'net':
      // Echoes whole frames back: the bytes as they come (frames stay aligned on one stream).
      createServer((conn) => conn.pipe(conn)).listen(address);
      break;
    default:
      throw new Error(`unknown server ${kind}`);
  }
  process.stdout.write('ready\n');
}

// bench/nng/profile.ts stops a server with SIGTERM: exit normally, so that --cpu-prof writes.
process.on('SIGTERM', () => process.exit(0));

void main();
