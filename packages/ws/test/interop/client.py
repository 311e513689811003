"""An independent JSON-RPC 2.0 client (Python `websockets`) driving our server.

Usage: client.py <ws-url> <token> <dialect>. Prints one JSON object with what it saw.
"""
import asyncio
import json
import sys

import websockets


async def main(url: str, token: str, dialect: str) -> None:
    seen = {}
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        if dialect == "forge":
            await ws.send(json.dumps({"id": "a", "method": "add", "params": {"a": 2, "b": 40}}))
            seen["add"] = json.loads(await ws.recv())
            await ws.send("not json")
            seen["bad"] = json.loads(await ws.recv())
            await ws.send(json.dumps({"id": "s", "method": "subscribe", "params": {"session_id": "py"}}))
            seen["subscribe"] = json.loads(await ws.recv())
            await ws.send(json.dumps({"id": "p", "method": "publish", "params": {"session_id": "py"}}))
            first, second = json.loads(await ws.recv()), json.loads(await ws.recv())
            seen["publish"] = sorted([first, second], key=lambda m: "event_type" in m)
        else:
            await ws.send(json.dumps({"jsonrpc": "2.0", "method": "add", "params": {"a": 2, "b": 40}, "id": 7}))
            seen["add"] = json.loads(await ws.recv())
            batch = [{"jsonrpc": "2.0", "method": "add", "params": {"a": i, "b": i}, "id": i} for i in range(5)]
            await ws.send(json.dumps(batch))
            seen["batch"] = sorted(json.loads(await ws.recv()), key=lambda r: r["id"])
            await ws.send(json.dumps({"jsonrpc": "2.0", "method": "nope", "id": "x"}))
            seen["missing"] = json.loads(await ws.recv())
            await ws.send(b"\xff\xfe binary")
            seen["binary"] = json.loads(await ws.recv())
            await ws.send(json.dumps({"jsonrpc": "2.0", "method": "$/subscribe", "params": {"topic": "py"}, "id": 8}))
            seen["subscribe"] = json.loads(await ws.recv())
            await ws.send(json.dumps({"jsonrpc": "2.0", "method": "publish", "params": {"topic": "py"}, "id": 9}))
            first, second = json.loads(await ws.recv()), json.loads(await ws.recv())
            seen["publish"] = sorted([first, second], key=lambda m: "method" in m)
        pong = await ws.ping()
        await asyncio.wait_for(pong, 5)
        seen["pong"] = True
    print(json.dumps(seen))


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
