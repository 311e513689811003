"""An ipckit (PyPI package) peer for the interop tests and the benchmark.

  serve <dir> <role>        answers echo/fail/emit/stop requests arriving at <role>
  call <dir> <role> <n>     sends n `add` requests and an event from <role>, prints the results
  bench <dir> <role> <n>    n sequential echo round trips with ipckit's own wait_response;
                            prints the latencies in ms as JSON
Every line printed is one JSON document.
"""
import json
import sys
import time

import ipckit


def open_channel(directory, role):
    return ipckit.FileChannel.backend(directory) if role == "backend" else ipckit.FileChannel.frontend(directory)


def serve(channel):
    print(json.dumps({"ready": True}), flush=True)
    while True:
        for msg in channel.recv():
            kind = msg.get("type")
            if kind == "event":
                print(json.dumps({"event": msg.get("method"), "payload": msg.get("payload")}), flush=True)
                continue
            if kind == "response":
                print(json.dumps({"response": msg.get("reply_to"), "payload": msg.get("payload"), "error": msg.get("error")}), flush=True)
                continue
            method = msg.get("method")
            print(json.dumps({"handled": msg["id"]}), flush=True)
            if method == "echo":
                channel.send_response(msg["id"], msg.get("payload"))
            elif method == "fail":
                channel.send_error(msg["id"], "nope from python")
            elif method == "emit":
                channel.send_event("tick", msg.get("payload"))
                channel.send_response(msg["id"], True)
            elif method == "stop":
                channel.send_response(msg["id"], "bye")
                return
            else:
                channel.send_error(msg["id"], "Unknown method: %s" % method)
        time.sleep(0.002)


def call(channel, n):
    channel.send_event("hello", {"from": "python"})
    for i in range(n):
        rid = channel.send_request("add", {"a": i, "b": 1})
        reply = channel.wait_response(rid, 10000)
        print(json.dumps({"i": i, "payload": reply.get("payload"), "error": reply.get("error")}), flush=True)
    rid = channel.send_request("missing", {})
    reply = channel.wait_response(rid, 10000)
    print(json.dumps({"missing": reply.get("error")}), flush=True)


def bench(channel, n):
    out = []
    for i in range(n):
        start = time.perf_counter()
        rid = channel.send_request("echo", {"i": i})
        channel.wait_response(rid, 10000)
        out.append((time.perf_counter() - start) * 1000.0)
    print(json.dumps({"latencies": out}), flush=True)


def main():
    command, directory, role = sys.argv[1], sys.argv[2], sys.argv[3]
    channel = open_channel(directory, role)
    if command == "serve":
        serve(channel)
    elif command == "call":
        call(channel, int(sys.argv[4]))
    elif command == "bench":
        bench(channel, int(sys.argv[4]))


if __name__ == "__main__":
    main()
