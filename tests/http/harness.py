"""harness.py - start the built gazette binary on a free port with a temporary config and
database, speak HTTP to it, stop it by its PID. Shared by the HTTP integration tests."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import pg

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# With GAZETTE_VALGRIND=1 every gazette process runs under memcheck; any error or definite or
# indirect leak makes it exit 99, which the tests' exit-status checks turn into a failure.
# (libvips's run-time SIMD code has instructions memcheck cannot decode: its C paths instead)
VALGRIND = ["env", "VIPS_NOVECTOR=1", "valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
            "--trace-children=no"] if os.environ.get("GAZETTE_VALGRIND") == "1" else []


class Server:
    """One gazette process. `config` adds or overrides INI keys: {"site": {"title": "X"}}."""

    def __init__(self, binary, config=None, token="test-token", copy_site=True, env=None,
                 args=None, workdir=None, sqlite=False):
        self.binary = os.path.abspath(binary)
        self.dir = workdir or tempfile.mkdtemp(prefix="gazette-http-")
        self.owns_dir = workdir is None
        self.token = token
        sections = {
            "server": {"listen": "127.0.0.1", "port": "0", "threads": "2",
                       "base_url": "http://news.test"},
            "site": {"timezone": "Asia/Shanghai"},
            "paths": {"database": "gazette.db", "templates": "templates", "static": "static"},
            "auth": {"token": token or ""},
            "log": {"access_log": "access.log", "level": "debug"},
        }
        # under tests/http/pg.py every server has a fresh PostgreSQL database of its own, unless
        # the test names its database (or asks for SQLite)
        cluster = pg.attached()
        named = "database" in (config or {}) or "database" in (config or {}).get("paths", {})
        if cluster and not named and not sqlite:
            sections["database"] = {"url": cluster.new_database()}
        for sec, keys in (config or {}).items():
            sections.setdefault(sec, {}).update(keys)
        if copy_site:
            for name in ("templates", "static"):
                src = os.path.join(SOURCE_ROOT, name)
                dst = os.path.join(self.dir, name)
                if os.path.isdir(src) and not os.path.exists(dst):
                    shutil.copytree(src, dst)
        self.config_path = os.path.join(self.dir, "config.ini")
        with open(self.config_path, "w") as f:
            for sec, keys in sections.items():
                f.write("[%s]\n" % sec)
                for k, v in keys.items():
                    f.write("%s = %s\n" % (k, v))
        self.env = dict(os.environ)
        self.env.pop("GAZETTE_TOKEN", None)
        self.env.pop("GAZETTE_CONFIG", None)
        self.env.pop("GAZETTE_DATABASE_URL", None)  # a server's database is its config's
        self.env.update(env or {})
        self.args = args or []
        self.proc = None
        self.port = None
        self.stderr_path = os.path.join(self.dir, "stderr.log")

    def start(self, timeout=30 if VALGRIND else 10):
        self.stderr_file = open(self.stderr_path, "w+")
        self.proc = subprocess.Popen(VALGRIND + [self.binary, "serve", "-c", self.config_path] + self.args,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr_file,
                                     env=self.env, cwd=self.dir)
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.stderr_path) as f:
                for line in f:
                    if line.startswith("listening on "):
                        self.port = int(line.rsplit(":", 1)[1])
                        return self
            if self.proc.poll() is not None:
                raise AssertionError("server exited %d: %s" % (self.proc.returncode,
                                                              self.stderr()))
            time.sleep(0.02)
        raise AssertionError("server did not start: " + self.stderr())

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def access_log(self):
        path = os.path.join(self.dir, "access.log")
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            return f.read()

    def kill(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stops the server by its PID and returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop within %ds" % timeout)
        self.stderr_file.close()
        return self.proc.returncode

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def run_cli(self, *args, input=None):
        """Runs another gazette command with this server's configuration."""
        return subprocess.run(VALGRIND + [self.binary] + list(args), input=input, capture_output=True,
                              env=self.env, cwd=self.dir)

    # HTTP helpers
    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(self, method, path, body=None, headers=None, auth=False, conn=None):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        h = dict(headers or {})
        if auth:
            h["Authorization"] = "Bearer " + self.token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        c = conn or self.conn()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if conn is None:
            c.close()
        return r.status, hdrs, data

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def json(self, method, path, body=None, **kw):
        status, hdrs, data = self.request(method, path, body=body, **kw)
        return status, hdrs, (json.loads(data) if data else None)

    def raw(self, data, timeout=5, read_all=True):
        """Sends raw bytes on a new socket and returns what comes back until close/timeout."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            s.sendall(data)
            out = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                out += chunk
                if not read_all:
                    break
            return out
        finally:
            s.close()


    def pipeline(self, requests, batch=64, timeout=30):
        """Sends raw requests (bytes, each complete) on one keep-alive connection, batch at a
        time, and returns their statuses in order. Fast enough for floods of thousands."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        statuses = []
        pending = b""
        try:
            for i in range(0, len(requests), batch):
                chunk = requests[i:i + batch]
                s.sendall(b"".join(chunk))
                want = len(statuses) + len(chunk)
                while len(statuses) < want:
                    data = s.recv(1 << 20)
                    if not data:
                        raise AssertionError("connection closed after %d answers" % len(statuses))
                    pending += data
                    while True:
                        end = pending.find(b"\r\n\r\n")
                        if end < 0:
                            break
                        head = pending[:end].split(b"\r\n")
                        length = 0
                        for line in head[1:]:
                            k, _, v = line.partition(b":")
                            if k.strip().lower() == b"content-length":
                                length = int(v)
                        if len(pending) < end + 4 + length:
                            break
                        statuses.append(int(head[0].split()[1]))
                        pending = pending[end + 4 + length:]
            return statuses
        finally:
            s.close()

    def rss_kib(self):
        """The server's resident memory now, in KiB (from /proc)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for %d" % self.proc.pid)


def make_image(binary, kind, w, h, path, seed=1):
    """An image made by tests/mkimage (libvips), built beside the gazette binary: its bytes."""
    tool = os.path.join(os.path.dirname(os.path.abspath(binary)), "tests", "mkimage")
    subprocess.run([tool, kind, str(w), str(h), path, str(seed)], check=True)
    with open(path, "rb") as f:
        return f.read()


def post(s, body, want=201, **kw):
    """POSTs an article to s with its token: the one helper every suite uses. With want (the
    default 201) it checks the status and returns the record; with want=None it returns
    (status, headers, JSON) for the caller to judge."""
    st, h, data = s.json("POST", "/api/articles", body, auth=True, **kw)
    if want is None:
        return st, h, data
    title = body.get("title", "") if isinstance(body, dict) else ""
    eq(st, want, "create %r: %r" % (title[:40], data))
    return data


def instrumented(binary):
    """Whether the binary runs under valgrind or was built with a sanitizer: its memory use
    and its speed are then not the program's own."""
    if VALGRIND:
        return True
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return "libasan" in out or "libubsan" in out


# raw exchanges: what came back on one connection, parsed

class Result:
    """What came back on one connection: parsed responses and whether the server closed it."""

    def __init__(self):
        self.raw = b""
        self.responses = []  # (status, headers with lower-case names, body)
        self.closed = False
        self.partial = False  # bytes after the last complete response
        self.seconds = 0.0  # from the first byte sent to the end

    def statuses(self):
        return [r[0] for r in self.responses]

    def __repr__(self):
        return "statuses=%r closed=%r partial=%r raw=%r" % (
            self.statuses(), self.closed, self.partial, self.raw[:300])


def parse_responses(data):
    """Splits a byte stream into complete HTTP/1.1 responses; returns (responses, leftover)."""
    out = []
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        head = data[:end].decode("latin-1").split("\r\n")
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            break
        status = int(parts[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        rest = data[end + 4:]
        if 100 <= status < 200 or status in (204, 304):
            length = 0
        elif "content-length" in headers:
            length = int(headers["content-length"])
        else:
            break  # framed by close: only complete when the stream ends
        if len(rest) < length:
            break
        out.append((status, headers, rest[:length]))
        data = rest[length:]
    return out, data


def exchange(s, data, want=1, grace=0.5, timeout=5.0, pieces=None, delay=0.0):
    """Sends data (or each of pieces with delay between) on a new socket and reads until the
    server closes, or `want` final responses are complete and nothing more came for `grace`
    seconds, or timeout."""
    res = Result()
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.time()
    try:
        try:
            for piece in pieces or [data]:
                sock.sendall(piece)
                if delay:
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            res.closed = True  # the server gave up on the request before it was all sent
        last = time.time()
        while True:
            resps, left = parse_responses(res.raw)
            final = [r for r in resps if r[0] >= 200]
            limit = start + timeout
            if len(final) >= want and not left:
                limit = min(limit, last + grace)
            now = time.time()
            if now >= limit:
                break
            sock.settimeout(limit - now)
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                res.closed = True
                break
            if not chunk:
                res.closed = True
                break
            res.raw += chunk
            last = time.time()
    finally:
        sock.close()
    resps, left = parse_responses(res.raw)
    res.responses = [r for r in resps if r[0] >= 200]
    res.partial = bool(left)
    res.seconds = time.time() - start
    return res


def server_test(binary, fn, **kw):
    """A test that starts a server with **kw, runs fn(server), and demands a clean exit 0 on
    SIGTERM (under valgrind that also means no memory error and no leak)."""
    def test():
        s = Server(binary, **kw)
        try:
            s.start()
            fn(s)
            eq(s.stop(), 0, "exit status after SIGTERM")
        finally:
            s.cleanup()
    return test


def run(tests):
    """Runs each (name, function) and prints a TAP-like line per test; exit 1 on any failure."""
    failed = 0
    for name, fn in tests:
        start = time.time()
        try:
            fn()
            print("ok - %s (%.2fs)" % (name, time.time() - start))
        except Exception:
            failed += 1
            print("not ok - %s" % name)
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(got, want, msg=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (msg or "values differ", got, want))
