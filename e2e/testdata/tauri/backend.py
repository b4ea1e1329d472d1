#!/usr/bin/env python3
"""The Go-less side of the Tauri e2e app: a JSON-RPC backend over stdio, as
a team moving off Rust might first write. Every request goes to LOG (the
first argument), one JSON line each."""
import base64
import json
import sys

LOG = sys.argv[1]


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    req = json.loads(line)
    with open(LOG, "a") as f:
        f.write(json.dumps(req) + "\n")
    m, p, rid = req.get("method"), req.get("params"), req.get("id")
    meta = req.get("meta") or {}
    tauri = meta.get("tauri") or {}
    if m == "greet":
        send({"jsonrpc": "2.0", "id": rid, "result": "Hello, %s!" % p["name"]})
    elif m == "upload":  # a raw body arrives as base64 (Go's []byte in JSON)
        body = base64.b64decode(p)
        send({"jsonrpc": "2.0", "id": rid, "result": {"len": len(body), "last": body[-1], "file": tauri.get("headers", {}).get("x-file-name")}})
    elif m == "bytes":  # raw bytes back: {"$base64": ...}, an ArrayBuffer for invoke
        send({"jsonrpc": "2.0", "id": rid, "result": {"$base64": base64.b64encode(bytes(range(p["n"]))).decode()}})
    elif m == "fail":
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": "no such file", "data": "No such file or directory (os error 2)"}})
    elif m == "count":
        token = tauri["channels"][p["onEvent"]]
        for i in range(p["n"]):
            send({"jsonrpc": "2.0", "method": "isogate.channel", "params": {"channel": token, "message": {"i": i}}})
        send({"jsonrpc": "2.0", "method": "isogate.channel", "params": {"channel": token, "end": True}})
        send({"jsonrpc": "2.0", "id": rid, "result": p["n"]})
    elif m == "report":
        send({"jsonrpc": "2.0", "id": rid, "result": None})
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no such method"}})
