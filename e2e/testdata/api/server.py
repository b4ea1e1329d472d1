"""The wrapped app's own HTTP API for the e2e tests: a real HTTP server on
loopback. It writes its port to argv[1] and every request it receives, one
JSON line each, to argv[2], so the tests can see what reached it."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

notes = {"1": {"id": "1", "text": "first"}}
log = open(sys.argv[2], "a", buffering=1)


class API(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def record(self, body):
        log.write(json.dumps({"method": self.command, "target": self.path, "headers": dict(self.headers),
                              "body": body.decode("latin-1")}) + "\n")

    def reply(self, status, obj, extra=()):
        b = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.send_header("Set-Cookie", "sid=s3cret-session; HttpOnly; Path=/")
        self.send_header("X-Api", "notes")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.record(b"")
        if self.path == "/":  # as a dev server: the app's page too
            b = b"<!doctype html><html><head><title>dev server</title></head><body>dev</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
        elif self.path.startswith("/api/notes/old"):
            self.send_response(302)
            self.send_header("Location", "/api/notes?from=old")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/api/notes/away"):  # to another origin: this server's own address
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:%d/api/notes?from=away" % self.server.server_port)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/api/notes/bare"):  # XML with no Content-Type: XHR reads it as text/xml
            b = b"<notes><note id='1'>bare</note></notes>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
        elif self.path.startswith("/api/notes/latin"):  # text in ISO-8859-1: XHR decodes it by its charset
            b = "caf\u00e9".encode("iso-8859-1")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=iso-8859-1")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
        elif self.path.startswith("/api/notes/bom"):  # a UTF-8 byte order mark beats the charset named
            b = b"\xef\xbb\xbf" + "caf\u00e9".encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=iso-8859-1")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
        elif self.path.startswith("/api/notes/slow"):
            self.rfile.read(1)  # until the client goes away
            log.write(json.dumps({"method": "GONE", "target": self.path, "headers": {}, "body": ""}) + "\n")
        elif self.path.startswith("/api/notes/big"):  # 3 MiB and 5 bytes, byte i being i mod 251, in pieces
            n = 3 * 1024 * 1024 + 5
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            block = bytes(i % 251 for i in range(251 * 1024))
            sent = 0
            while sent < n:
                part = block[: min(len(block), n - sent)]
                self.wfile.write(part)
                sent += len(part)
        elif self.path.startswith("/api/notes/page") or self.path.startswith("/api/notes/feed"):
            html = self.path.startswith("/api/notes/page")
            b = (b"<!doctype html><title>notes</title><p id=n>1 note</p>" if html
                 else b"<?xml version='1.0'?><notes><note id='1'>first</note></notes>")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8" if html else "application/xml")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
        elif self.path.startswith("/api/notes/bytes"):
            b = bytes(range(256))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
        elif self.path.startswith("/api/notes"):
            self.reply(200, {"notes": list(notes.values()), "cookie": self.headers.get("Cookie", "")})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        b = self.body()
        self.record(b)
        note = json.loads(b or b"{}")
        note["id"] = str(len(notes) + 1)
        notes[note["id"]] = note
        self.reply(201, note, [("Location", "/api/notes/" + note["id"])])

    def do_HEAD(self):
        self.record(b"")
        if self.path.startswith("/api/moved"):
            self.see_notes()
            return
        self.send_response(200)  # /api/notes: the headers a GET would have
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Api", "notes")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PUT(self):
        self.record(self.body())
        self.see_notes()

    def see_notes(self):
        self.send_response(303)
        self.send_header("Location", "/api/notes?from=moved")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_DELETE(self):
        self.record(b"")
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), API)
with open(sys.argv[1], "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()
