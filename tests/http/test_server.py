"""test_server.py - the server process: start on a free port, the placeholder, /healthz,
keep-alive, configuration errors at start, a clean exit on SIGTERM and SIGINT."""

import os
import signal
import subprocess
import sys
import tempfile

from harness import Server, check, eq, run, server_test

BINARY = os.path.abspath(sys.argv[1])


def with_server(fn, **kw):
    return server_test(BINARY, fn, **kw)


def placeholder(s):
    status, h, body = s.get("/")
    eq(status, 200, "status of /")
    check(h["content-type"].startswith("text/html"), h["content-type"])
    check(b"Coming soon!" in body, body)
    eq(int(h["content-length"]), len(body), "Content-Length")


def healthz(s):
    status, h, data = s.json("GET", "/healthz")
    eq(status, 200)
    eq(data["status"], "ok")
    check(h["content-type"].startswith("application/json"))


def keep_alive(s):
    c = s.conn()
    for _ in range(3):
        status, h, _ = s.get("/healthz", conn=c)
        eq(status, 200)
        check(h.get("connection", "").lower() != "close", "connection was closed")
    check(c.sock is not None, "connection closed between requests")
    c.close()


def access_log(s):
    s.get("/healthz", headers={"User-Agent": 'probe "quoted"', "Referer": "http://ref.test/"})
    s.stop()
    log = s.access_log()
    line = [l for l in log.splitlines() if "/healthz" in l][-1]
    check(line.startswith("127.0.0.1 - - ["), line)
    check('"GET /healthz HTTP/1.1" 200 ' in line, line)
    check(line.endswith('"http://ref.test/" "probe \\x22quoted\\x22"'), line)


def sigint_exit():
    s = Server(BINARY)
    try:
        s.start()
        eq(s.get("/healthz")[0], 200)
        eq(s.stop(signal.SIGINT), 0, "exit status after SIGINT")
    finally:
        s.cleanup()


def drains_in_flight():
    """A request whose body is still arriving when SIGTERM comes is answered before exit."""
    s = Server(BINARY)
    try:
        s.start()
        sock = __import__("socket").create_connection(("127.0.0.1", s.port))
        body = b'{"title":"Drained","body":"b"}'
        sock.sendall(b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer test-token\r\nContent-Length: %d\r\n\r\n" % len(body)
                     + body[:10])
        import time
        time.sleep(0.3)
        s.kill(signal.SIGTERM)
        time.sleep(0.3)
        check(s.proc.poll() is None, "exited with a request in flight")
        sock.sendall(body[10:])
        data = sock.recv(65536)
        sock.close()
        check(data.startswith(b"HTTP/1.1 201"), data)
        eq(s.stop(), 0)
    finally:
        s.cleanup()


def bad_configs():
    """Each bad configuration exits 2 naming file:line and the key."""
    cases = [
        ("[server]\nport = eighty\n", "config.ini:2: server.port"),
        ("[server]\nthreads = -1\n", "config.ini:2: server.threads"),
        ("[site]\ntimezone = Mars/Base\n", "config.ini:2: site.timezone"),
        ("[server]\n\n[nope]\n", "config.ini:3: unknown section [nope]"),
        ("[log]\nlevl = info\n", "config.ini:2: unknown key 'levl'"),
    ]
    with tempfile.TemporaryDirectory() as d:
        for text, want in cases:
            path = os.path.join(d, "config.ini")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([BINARY, "-c", path], capture_output=True, timeout=10)
            eq(r.returncode, 2, text)
            check(want in r.stderr.decode(), r.stderr.decode())


def command_line():
    r = subprocess.run([BINARY, "--version"], capture_output=True)
    eq(r.returncode, 0)
    check(r.stdout.startswith(b"gazette "), r.stdout)
    r = subprocess.run([BINARY, "--help"], capture_output=True)
    eq(r.returncode, 0)
    check(b"usage: gazette" in r.stdout)
    for args in (["--bogus"], ["frobnicate"], ["serve", "-x"], ["serve", "extra"]):
        r = subprocess.run([BINARY] + args, capture_output=True)
        eq(r.returncode, 2, args)
        check(b"usage: gazette" in r.stderr, r.stderr)
    r = subprocess.run([BINARY, "-c", "/nonexistent/gazette.ini"], capture_output=True)
    eq(r.returncode, 2)


def env_config_and_override():
    """$GAZETTE_CONFIG is read when -c is absent; -p overrides the file's port."""
    s = Server(BINARY)
    try:
        s.env["GAZETTE_CONFIG"] = s.config_path
        p = subprocess.Popen([BINARY, "-p", "0", "-l", "127.0.0.1"], env=s.env, cwd="/",
                             stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        line = ""
        while not line.startswith("listening on "):
            line = p.stderr.readline().decode()
            check(line, "no 'listening on' line")
        check(line.startswith("listening on 127.0.0.1:"), line)
        p.send_signal(signal.SIGTERM)
        eq(p.wait(10), 0)
        p.stderr.close()
    finally:
        s.cleanup()


run([
    ("placeholder page", with_server(placeholder)),
    ("healthz", with_server(healthz)),
    ("keep-alive", with_server(keep_alive)),
    ("access log in combined format", with_server(access_log)),
    ("SIGINT exits 0", sigint_exit),
    ("SIGTERM drains a request in flight", drains_in_flight),
    ("bad configurations exit 2 with file:line", bad_configs),
    ("command line", command_line),
    ("$GAZETTE_CONFIG and -p/-l", env_config_and_override),
])
