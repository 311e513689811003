// The openclaw-ipc server: the unix transport, default msgpack dialect, an `echo` handler.
// `node --import tsx ipc-server.ts <socket-path>`; prints `ready`.
import { unixTransport } from '@openclaw-ipc/unix';

const path = process.argv[2]!;
await unixTransport.listen(new URL(`unix://${path}`), { handlers: { echo: (p: unknown) => p } });
process.stdout.write('ready\n');
// Exit cleanly on a signal so that --cpu-prof can write its profile.
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
