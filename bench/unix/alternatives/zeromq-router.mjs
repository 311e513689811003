// zeromq.js (npm zeromq 6): a Router socket on ipc:// echoing every message to the Dealer that
// sent it (routing id, then the body), so that many requests can be in flight on one socket.
// `node zeromq-router.mjs <socket-path>`; prints `ready`.
import { Router } from 'zeromq';

const router = new Router();
await router.bind(`ipc://${process.argv[2]}`);
process.stdout.write('ready\n');
for await (const [id, body] of router) await router.send([id, body]);
