// Connects to an OpenClaw gateway and prints its agents and sessions, then the next tick.
// Run: OPENCLAW_GATEWAY_TOKEN=… node --conditions=@openclaw-ipc/source --import tsx \
//        examples/gateway-status.ts ws://127.0.0.1:18789
import { GatewayClient } from '@openclaw-ipc/ws';

const url = process.argv[2] ?? 'ws://127.0.0.1:18789';
const client = await GatewayClient.connect({ url, token: process.env.OPENCLAW_GATEWAY_TOKEN });
console.log(`protocol ${client.protocol}, connection ${client.connId}, ${client.methods.length} methods`);
const snapshot = await client.sync();
for (const agent of snapshot.agents) console.log(`agent ${agent.id}: ${agent.sessions.length} sessions`);
client.onGap((gap) => console.log('missed events', gap));
for await (const tick of client.events<{ ts: number }>('tick')) {
  console.log('tick', new Date(tick.ts).toISOString());
  break;
}
client.close();
