"""receiver.py - a webhook receiver, a WebSub hub and a purge target for the outbound tests: a
small threaded HTTP server on loopback that records every request and answers each path as it
is told (a status, a delay, a redirect). Shared by test_outbound.py and tests/bench/outbound."""

import hashlib
import hmac
import http.server
import json
import threading
import time


class Receiver:
    """Records (time, method, path, headers, body) per request. `modes` maps a path to what it
    answers: an int status, ("sleep", seconds, status), ("redirect", location)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = []
        self.modes = {}
        self.default = 200
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                entry = {"at": time.time(), "method": self.command, "path": self.path,
                         "headers": {k.lower(): v for k, v in self.headers.items()},
                         "body": body}
                with owner.lock:
                    owner.got.append(entry)
                    mode = owner.modes.get(self.path, owner.default)
                if isinstance(mode, tuple) and mode[0] == "sleep":
                    time.sleep(mode[1])
                    mode = mode[2]
                self.send_response(302 if isinstance(mode, tuple) else mode)
                if isinstance(mode, tuple) and mode[0] == "redirect":
                    self.send_header("Location", mode[1])
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_BAN = do_PUT = handle_any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def requests(self, path=None):
        with self.lock:
            return [g for g in self.got if path is None or g["path"] == path]

    def events(self, path):
        """The JSON bodies POSTed to path, with their headers: [(headers, event)]."""
        return [(g["headers"], json.loads(g["body"])) for g in self.requests(path)
                if g["method"] == "POST"]

    def wait(self, cond, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return True
            time.sleep(0.05)
        return cond()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def signature_valid(secret, headers, body, tolerance=300):
    """The check a receiver makes (README): Gazette-Signature t=T,v1=HEX with HEX the
    HMAC-SHA256 of T + "." + body under the secret, and T recent."""
    parts = dict(p.split("=", 1) for p in headers.get("gazette-signature", "").split(","))
    want = hmac.new(secret.encode(), parts.get("t", "").encode() + b"." + body,
                    hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(parts.get("t", "0"))) < tolerance
    return fresh and hmac.compare_digest(want, parts.get("v1", ""))
