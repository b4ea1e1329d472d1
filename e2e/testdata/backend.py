#!/usr/bin/env python3
"""A JSON-RPC 2.0 backend in another language, for isogate's wrap tests.

stdio mode (default): one JSON object per line on stdin/stdout.
http mode (--http PORTFILE): serves POST / on a free port and writes the
port to PORTFILE. Every request is appended to LOG (first argument) so the
tests can see exactly what reached the backend.
"""
import json
import os
import sys
import threading
import time

LOG = sys.argv[1]
lock = threading.Lock()


def log(req):
    with lock, open(LOG, "a") as f:
        f.write(json.dumps(req) + "\n")


def handle(req, notify):
    """Returns the response for one request; notify(event, payload[, target]) emits."""
    log(req)
    method, params, rid = req.get("method"), req.get("params"), req.get("id")
    if method == "app.echo":
        return {"jsonrpc": "2.0", "id": rid, "result": {"echo": params, "pid": os.getpid()}}
    if method == "app.fail":
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": "disk on fire"}}
    if method == "app.sleep":
        time.sleep(params["ms"] / 1000)
        return {"jsonrpc": "2.0", "id": rid, "result": "slept"}
    if method == "app.crash":
        os._exit(3)
    if method == "app.emit":
        notify("app.news", params)
        return {"jsonrpc": "2.0", "id": rid, "result": "emitted"}
    if method == "app.save":  # tells the page that saved, and no other, where its note went
        notify("app.saved", {"n": params.get("n"), "path": "/notes/%s" % params.get("n")}, {"session": req["meta"]["session"]})
        return {"jsonrpc": "2.0", "id": rid, "result": {"saved": True}}
    if method == "app.towindow":
        notify("app.news", params, {"window": params["window"]})
        return {"jsonrpc": "2.0", "id": rid, "result": "sent"}
    if method == "app.mainonly":
        return {"jsonrpc": "2.0", "id": rid, "result": req.get("meta")}
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no such method"}}


def stdio():
    out = threading.Lock()

    def send(obj):
        with out:
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()

    def notify(event, payload, target=None):
        send({"jsonrpc": "2.0", "method": "isogate.emit", "params": dict({"event": event, "payload": payload}, **(target or {}))})

    print("backend.py: stdio backend started", file=sys.stderr, flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        threading.Thread(target=lambda r=req: send(handle(r, notify)), daemon=True).start()


def http(portfile):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            log({"headers": dict(self.headers)})  # what else reached the backend
            notes = []
            resp = handle(req, lambda e, p, target=None: notes.append(
                {"jsonrpc": "2.0", "method": "isogate.emit", "params": dict({"event": e, "payload": p}, **(target or {}))}))
            body = json.dumps(notes + [resp] if notes else resp).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[2] == "--http":
        http(sys.argv[3])
    else:
        stdio()
