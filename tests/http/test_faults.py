"""test_faults.py - the server under faults, against the real binary: kill -9 during a storm of
writes, a database it cannot write, a full disk, SIGHUP with a broken template under load, more
connections than server.max_connections, slow and idle clients. Error bodies never show a host
path or SQL; the token never reaches a log.

Runs as root: permission faults drop privileges with setpriv (root ignores file modes). The
full disk is a loop-mounted 20 MB ext4; where mounting is not permitted the test falls back to
a file size limit (RLIMIT_FSIZE through prlimit; GAZETTE_TEST_NO_LOOP=1 forces that path).

What the server does (build of 10822de; FAILS: the test's rule is broken, the test says why):

| fault                                  | behaviour                                             |
|----------------------------------------|-------------------------------------------------------|
| kill -9 during 6 writers' POST storm   | every 201 survives; integrity_check ok (3 rounds,     |
|                                        | about 1,100-2,800 acknowledged writes per round)      |
| database files and folder owned by     | reads 200; POST, PUT, DELETE 503 JSON, Retry-After: 5 |
| root (the WAL left by a crash beside)  |                                                       |
| ... then given back to the server user | FAILS: writes stay 503 until a restart                |
| full disk (20 MB loop ext4)            | writes 503 JSON with Retry-After, reads 200; 201 again|
|                                        | once space is freed; integrity_check ok               |
| file size limit (the fallback)         | the same; the log says "disk I/O error"               |
| SIGHUP with a broken template, 4       | no failed request; each refused reload logged with    |
| readers hammering                      | file:line:col; the next good set is taken             |
| 60 connections, max_connections = 20   | FAILS: 20 served, 40 wait in the listen queue (not    |
|                                        | refused), served only when a slot frees               |
| a header dribbled a byte a second,     | closed by the header deadline, but FAILS: up to 1 s   |
| timeout_s = 3; 10 idle connections     | early (whole-second clock): after 2.2-2.4 s           |
| error bodies, logs                     | no host path, no SQL; the token in no log             |
"""

import http.client
import json
import os
import pwd
import random
import select
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

from harness import Server, check, eq, run

BINARY = sys.argv[1]
SLOW = 4 if os.environ.get("GAZETTE_VALGRIND") == "1" else 1  # timing allowance

BODIES = []   # (what, status, body) of every response the fault tests received
PATHS = set()  # host folders those tests used: no response may name one


class FaultServer(Server):
    """A Server whose responses are all kept for the check on error bodies."""

    def __init__(self, binary, **kw):
        super().__init__(binary, **kw)
        PATHS.add(self.dir)
        PATHS.add(os.path.realpath(self.dir))

    def request(self, method, path, body=None, headers=None, auth=False, conn=None):
        st, h, data = super().request(method, path, body=body, headers=headers, auth=auth,
                                      conn=conn)
        BODIES.append(("%s %s" % (method, path), st, data))
        return st, h, data


def wrap(s, prefix):
    """Makes s start its binary through prefix (setpriv, prlimit): a script that execs, so the
    PID the harness signals is the server's own."""
    script = os.path.join(s.dir, "gazette-wrapped")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexec %s %s \"$@\"\n" % (" ".join(shlex.quote(p) for p in prefix),
                                                  shlex.quote(s.binary)))
    os.chmod(script, 0o755)
    s.binary = script


def integrity(db):
    """PRAGMA integrity_check of a database no server has open; returns the rows."""
    c = sqlite3.connect(db)
    try:
        return [r[0] for r in c.execute("PRAGMA integrity_check")]
    finally:
        c.close()


def last_store_error(s):
    """The operator's view of the fault: the server's last store error line, for the output."""
    lines = [line for line in s.stderr().splitlines() if "[error] store:" in line]
    return lines[-1].split("] ", 1)[-1] if lines else "(none)"


def error_503(st, h, body, what):
    eq(st, 503, what)
    err = json.loads(body)["error"]
    eq(err["status"], 503, what + ": error.status")
    check(isinstance(err["message"], str) and err["message"], err)
    check(h.get("retry-after", "").isdigit() and int(h["retry-after"]) > 0,
          "%s: Retry-After %r" % (what, h.get("retry-after")))
    eq(h.get("cache-control"), "no-store", what + ": Cache-Control")
    check(h["content-type"].startswith("application/json"), h["content-type"])


# kill -9 during a storm of writes

def kill9_storm():
    writers, rounds = 6, 3
    s = FaultServer(BINARY, config={"server": {"threads": "4"}})
    db = os.path.join(s.dir, "gazette.db")
    acked = []
    try:
        for rnd in range(rounds):
            s.start()
            stop = threading.Event()
            got = [[] for _ in range(writers)]
            bad = []

            def writer(t):
                n = 0
                c = None
                while not stop.is_set():
                    slug = "r%d-t%d-n%d" % (rnd, t, n)
                    n += 1
                    try:
                        if c is None:
                            c = s.conn()
                        st, _, body = s.request(
                            "POST", "/api/articles", auth=True, conn=c,
                            body={"title": "Storm %s" % slug, "slug": slug,
                                  "body": "Written by writer %d.\n\n%s" % (t, "word " * 200)})
                    except (OSError, http.client.HTTPException):
                        if c is not None:
                            c.close()
                        c = None
                        time.sleep(0.01)  # killed: nothing answers any more
                        continue
                    if st == 201:
                        got[t].append(slug)
                    else:
                        bad.append((slug, st, body[:200]))
                if c is not None:
                    c.close()

            threads = [threading.Thread(target=writer, args=(t,)) for t in range(writers)]
            for t in threads:
                t.start()
            time.sleep(2.0)
            eq(s.stop(signal.SIGKILL), -signal.SIGKILL, "killed by SIGKILL")
            stop.set()
            for t in threads:
                t.join(30)
            eq(bad, [], "answers other than 201 during the storm")
            this_round = [slug for g in got for slug in g]
            check(len(this_round) >= 20, "only %d writes acknowledged in 2 s" % len(this_round))
            acked += this_round

            s.start()  # the same database, after the crash
            c = s.conn()
            missing = [slug for slug in acked
                       if s.get("/api/articles/" + slug, conn=c)[0] != 200]
            c.close()
            eq(missing, [], "acknowledged writes missing after kill -9 (round %d)" % rnd)
            total = s.json("GET", "/healthz")[2]["articles"]
            check(total >= len(acked), "%d articles, %d acknowledged" % (total, len(acked)))
            eq(s.stop(), 0, "exit status")
            eq(integrity(db), ["ok"], "integrity_check after round %d" % rnd)
            # the full-text index agrees with its table (its tokenizer is gazette's own, so
            # the check goes through the server): every story is found by a word all of them
            # hold, and each of a sample by its slug's words, which only it holds
            s.start()
            st, _, found = s.json("GET", "/api/articles?q=storm&per_page=1&status=all",
                                  auth=True)
            eq((st, found["total"]), (200, total), "stories the index finds")
            for slug in acked[::max(1, len(acked) // 20)]:
                st, _, found = s.json("GET", "/api/articles?q=%s&status=all" % slug, auth=True)
                eq([a["slug"] for a in found["articles"]], [slug], "search for " + slug)
            eq(s.stop(), 0, "exit status")
            print("# round %d: %d writes acknowledged before kill -9, %d articles stored"
                  % (rnd, len(this_round), total))
    finally:
        s.cleanup()


# a database the server cannot write

NOBODY = pwd.getpwnam("nobody")


def as_nobody(s):
    """Prepares s to run as nobody: the work folder readable, the database in db/ and the
    access log in logs/, both folders owned by nobody."""
    os.chmod(s.dir, 0o755)
    for d in ("db", "logs"):
        path = os.path.join(s.dir, d)
        os.makedirs(path, exist_ok=True)
        os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)
    wrap(s, ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"])


def chown_tree(path, uid, gid, dir_mode, file_mode):
    os.chown(path, uid, gid)
    os.chmod(path, dir_mode)
    for name in os.listdir(path):
        os.chown(os.path.join(path, name), uid, gid)
        os.chmod(os.path.join(path, name), file_mode)


def read_only_database():
    check(os.geteuid() == 0, "needs root: chown and setpriv")
    s = FaultServer(BINARY, config={"paths": {"database": "db/gazette.db"},
                                    "log": {"access_log": "logs/access.log"}})
    dbdir = os.path.join(s.dir, "db")
    db = os.path.join(dbdir, "gazette.db")
    try:
        as_nobody(s)
        s.start()
        st, _, a = s.json("POST", "/api/articles", {"title": "Before", "body": "x"}, auth=True)
        eq(st, 201, "a write while the database is the server's")
        # A crash leaves the WAL and its index beside the database; SQLite needs both to read a
        # WAL database in a folder it cannot write (a clean stop removes them, and then there
        # is nothing it could serve at all).
        s.stop(signal.SIGKILL)
        check(os.path.exists(db + "-wal") and os.path.exists(db + "-shm"), os.listdir(dbdir))
        # the fault: everything owned by root, readable by all, writable by none but root
        chown_tree(dbdir, 0, 0, 0o755, 0o644)
        s.start()
        pid = s.proc.pid
        for path in ("/", "/articles/before", "/api/articles", "/api/articles/before",
                     "/healthz", "/feed.xml", "/search?q=before"):
            eq(s.get(path)[0], 200, "read %s from a read-only database" % path)
        st, h, body = s.request("POST", "/api/articles", body={"title": "During", "body": "x"},
                                auth=True)
        error_503(st, h, body, "POST on a read-only database")
        st, h, body = s.request("PUT", "/api/articles/before",
                                body={"title": "Changed", "body": "y"}, auth=True)
        error_503(st, h, body, "PUT on a read-only database")
        st, h, body = s.request("DELETE", "/api/articles/before", auth=True)
        error_503(st, h, body, "DELETE on a read-only database")
        eq(s.json("GET", "/api/articles/before")[2]["title"], "Before", "nothing changed")
        eq(s.get("/api/articles/during")[0], 404)
        # the fault is cleared while the server runs: writes come back, no restart
        chown_tree(dbdir, NOBODY.pw_uid, NOBODY.pw_gid, 0o755, 0o644)
        deadline = time.time() + 6 * SLOW
        attempts = []
        while True:
            st, h, body = s.request("POST", "/api/articles",
                                    body={"title": "After", "body": "x"}, auth=True)
            attempts.append(st)
            if st != 503 or time.time() > deadline:
                break
            time.sleep(0.5)
        eq(st, 201, "a write after the database became writable again (answers: %r)"
           % attempts)
        eq(s.proc.pid, pid, "the same server process")
        check(s.proc.poll() is None, "the server is running")
        eq(s.get("/api/articles/after")[0], 200, "the recovered write is readable")
        eq(s.json("PUT", "/api/articles/before", {"title": "Changed", "body": "y"},
                  auth=True)[0], 200, "PUT after recovery")
        eq(s.json("GET", "/api/articles/before")[2]["title"], "Changed")
        eq(s.stop(), 0, "exit status")
        eq(integrity(db), ["ok"], "integrity_check")
        print("# writes recovered after %d answers: %r" % (len(attempts), attempts))
    finally:
        s.cleanup()


# a full disk

def try_loop_mount(img, mnt, size_mb=20):
    """A fresh ext4 of size_mb mounted at mnt; False if this machine does not allow it."""
    if os.environ.get("GAZETTE_TEST_NO_LOOP") == "1":
        return False
    with open(img, "wb") as f:
        f.truncate(size_mb << 20)
    os.makedirs(mnt, exist_ok=True)
    if subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", img], capture_output=True,
                      timeout=60).returncode != 0:
        return False
    r = subprocess.run(["mount", "-o", "loop", img, mnt], capture_output=True, timeout=60)
    return r.returncode == 0


def unmount(mnt):
    for _ in range(50):
        if subprocess.run(["umount", mnt], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "-l", mnt], capture_output=True)


def fill(path):
    """Writes zeros to path until the file system is full; returns the bytes written."""
    n = 0
    block = b"\0" * (1 << 16)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(block)
            except OSError:
                break
        try:
            os.fsync(f.fileno())
        except OSError:
            pass
    # the last bytes a block at a time, so that nothing is left
    with open(path + "-small", "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(b"\0" * 512)
            except OSError:
                break
    return n


def write_until_refused(s, prefix, acked, limit=300):
    """POSTs big articles until one is refused; every answer is 201 or 503, never 500."""
    body = "A paragraph of filler text for a full disk. " * 4000  # about 180 KB
    for i in range(limit):
        slug = "%s-%d" % (prefix, i)
        st, h, data = s.request("POST", "/api/articles",
                                body={"title": "Fill %d" % i, "slug": slug, "body": body},
                                auth=True)
        check(s.proc.poll() is None, "the server exited while the disk filled up")
        if st == 201:
            acked.append(slug)
            continue
        error_503(st, h, data, "POST on a full disk")
        return i
    raise AssertionError("%d big writes and the disk never filled" % limit)


def disk_full():
    s = FaultServer(BINARY)
    img = os.path.join(s.dir, "disk.img")
    mnt = os.path.join(s.dir, "disk")
    mounted = False
    acked = []
    try:
        mounted = try_loop_mount(img, mnt)
        if mounted:
            db = os.path.join(mnt, "gazette.db")
        else:
            print("# no loop mount here: RLIMIT_FSIZE stands in for a full disk")
            db = os.path.join(s.dir, "gazette.db")
            wrap(s, ["prlimit", "--fsize=%d" % (3 << 20)])
        with open(s.config_path) as f:
            cfg = f.read()
        with open(s.config_path, "w") as f:
            f.write(cfg.replace("database = gazette.db", "database = " + db))
        s.start()
        for i in range(3):
            st, _, _ = s.json("POST", "/api/articles",
                              {"title": "Small %d" % i, "slug": "small-%d" % i, "body": "x"},
                              auth=True)
            eq(st, 201)
            acked.append("small-%d" % i)
        if mounted:
            filled = fill(os.path.join(mnt, "filler"))
            print("# filled the 20 MB file system with %d more bytes" % filled)
        n = write_until_refused(s, "fill", acked)
        print("# %d big writes accepted before the first 503; the log says: %s"
              % (n, last_store_error(s)))
        # refused again, reads keep working, nothing is lost
        for i in range(3):
            st, h, data = s.request("POST", "/api/articles",
                                    body={"title": "Again %d" % i, "slug": "again-%d" % i,
                                          "body": "x " * 50000}, auth=True)
            if st == 201:  # a small gap may still hold one; the disk is still full after it
                acked.append("again-%d" % i)
            else:
                error_503(st, h, data, "POST on a full disk, again")
        for path in ("/", "/api/articles", "/healthz", "/articles/small-0", "/search?q=filler"):
            eq(s.get(path)[0], 200, "read %s on a full disk" % path)
        c = s.conn()
        missing = [slug for slug in acked if s.get("/api/articles/" + slug, conn=c)[0] != 200]
        c.close()
        eq(missing, [], "acknowledged writes readable on a full disk")
        if mounted:
            os.unlink(os.path.join(mnt, "filler"))
            os.unlink(os.path.join(mnt, "filler-small"))
        else:
            # a file size limit cannot be lifted from outside: restart without it
            eq(s.stop(), 0, "exit status")
            s.binary = os.path.abspath(BINARY)
            s.start()
        st, _, _ = s.json("POST", "/api/articles", {"title": "Room again", "slug": "room",
                                                     "body": "x"}, auth=True)
        eq(st, 201, "a write once there is room again")
        acked.append("room")
        c = s.conn()
        missing = [slug for slug in acked if s.get("/api/articles/" + slug, conn=c)[0] != 200]
        c.close()
        eq(missing, [], "acknowledged writes after the disk was freed")
        eq(s.stop(), 0, "exit status")
        eq(integrity(db), ["ok"], "integrity_check")
    finally:
        if s.proc and s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()
        if mounted:
            unmount(mnt)
        s.cleanup()


# SIGHUP with a broken template, under load

def sighup_under_load():
    s = FaultServer(BINARY, config={"server": {"threads": "4"}})
    try:
        s.start()
        eq(s.json("POST", "/api/articles", {"title": "X marks", "slug": "x", "body": "Body."},
                  auth=True)[0], 201)
        art = os.path.join(s.dir, "templates", "article.mustache")
        with open(art) as f:
            original = f.read()
        check("<h1>{{title}}</h1>" in original, "article.mustache has the title heading")
        stop = threading.Event()
        counts = [0] * 4
        failures = []

        def reader(t):
            c = s.conn()
            rnd = random.Random(t)
            while not stop.is_set():
                for path in ("/", "/articles/x", "/api/articles",
                             "/search?q=marks%%20%d" % rnd.randrange(1 << 30)):
                    try:
                        st, h, body = s.request("GET", path, conn=c)
                    except (OSError, http.client.HTTPException) as e:
                        failures.append((path, repr(e)))
                        c.close()
                        c = s.conn()
                        continue
                    counts[t] += 1
                    complete = (body.rstrip().endswith(b"</html>") if path != "/api/articles"
                                else json.loads(body)["total"] == 1)
                    if st != 200 or not complete or int(h["content-length"]) != len(body):
                        failures.append((path, st, body[-80:]))
            c.close()

        threads = [threading.Thread(target=reader, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        start = time.time()
        broken = 0
        version = 0
        while time.time() - start < 3.0:
            with open(art, "w") as f:
                f.write("{{#broken}}\n<h1>{{title}}</h1>\n")
            s.kill(signal.SIGHUP)
            broken += 1
            time.sleep(0.25)
            version += 1
            with open(art, "w") as f:
                f.write(original.replace("<h1>{{title}}</h1>",
                                         '<h1 class="v%d">{{title}}</h1>' % version))
            s.kill(signal.SIGHUP)
            time.sleep(0.25)
        stop.set()
        for t in threads:
            t.join(30)
        eq(failures[:5], [], "failed requests during the reloads")
        check(sum(counts) >= 100, "only %d requests in 3 s" % sum(counts))
        check(b'<h1 class="v%d">' % version in s.get("/articles/x")[2], "the last good set")
        err = s.stderr()
        refused = err.count("templates not reloaded")
        eq(refused, broken, "a refused reload logged for each broken SIGHUP")
        check("article.mustache:1:1" in err, "the log names the broken file: " + err[-500:])
        eq(s.stop(), 0, "exit status")
        print("# %d requests while %d broken and %d good template sets were signalled"
              % (sum(counts), broken, version))
    finally:
        s.cleanup()


# more connections than server.max_connections

def connection_limit():
    limit, tries = 20, 60
    s = FaultServer(BINARY, config={"server": {"max_connections": str(limit)}})
    socks = []
    try:
        s.start()
        for _ in range(tries):
            socks.append(socket.create_connection(("127.0.0.1", s.port), timeout=5))
        t0 = time.time()
        refused = {}
        while time.time() < t0 + 1.0 * SLOW and len(refused) < tries:
            live = [k for k in socks if k not in refused]
            ready, _, _ = select.select(live, [], [], max(0.0, t0 + 1.0 * SLOW - time.time()))
            for k in ready:
                try:
                    data = k.recv(4096)
                except ConnectionResetError:
                    data = b""
                check(data == b"", "a refused connection got %r" % data[:80])
                refused[k] = time.time() - t0
        # the others ask for something, keeping their connection (and their slot) open
        rest = [k for k in socks if k not in refused]
        for k in rest:
            k.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        served, hung, late = [], [], []  # late: closed only after 1 s, once it asked
        deadline = time.time() + 1.0 * SLOW
        for k in rest:
            k.settimeout(max(0.01, deadline - time.time()))
            try:
                data = k.recv(65536)
            except socket.timeout:
                hung.append(k)
                continue
            except ConnectionResetError:
                data = b""
            check(data.startswith(b"HTTP/1.1 200 ") or data == b"", data[:80])
            (served if data else late).append(k)
        print("# of %d connections: %d refused (the last after %.3f s), %d served, %d closed "
              "late, %d hung" % (tries, len(refused), max(list(refused.values()) or [0]),
                                 len(served), len(late), len(hung)))
        check(not hung and not late and len(refused) >= tries - limit,
              "of %d connections with server.max_connections = %d: %d refused within 1 s, "
              "%d served, %d closed later, %d left hanging (not accepted, not refused)"
              % (tries, limit, len(refused), len(served), len(late), len(hung)))
        check(0 < len(served) <= limit, "%d connections served" % len(served))
        for k in socks:
            k.close()
        socks = []
        # the server notices the closes on its own time: within a second all is normal again
        t1 = time.time()
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=1.0 * SLOW)
                st = s.request("GET", "/healthz", conn=c, headers={"Connection": "close"})[0]
                c.close()
                if st == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            check(time.time() - t1 < 1.0 * SLOW, "no answer within 1 s after the flood")
            time.sleep(0.02)
        back = time.time() - t1
        for _ in range(limit * 2):
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=1.0 * SLOW)
            eq(s.request("GET", "/healthz", conn=c, headers={"Connection": "close"})[0], 200,
               "a request after the flood")
            c.close()
        print("# normal again %.3f s after the flood; %d requests then took %.3f s"
              % (back, limit * 2, time.time() - t1 - back))
        eq(s.stop(), 0, "exit status")
    finally:
        for k in socks:
            k.close()
        s.cleanup()


# slow and idle clients

def late_in_a_second(frac=0.8):
    """Waits until CLOCK_MONOTONIC (the server's clock for deadlines) is frac into a second. A
    deadline counted in whole seconds fires up to a second early; starting late in a second
    makes that visible every time instead of now and then."""
    time.sleep((frac - time.monotonic() % 1.0) % 1.0)


def slow_clients():
    timeout_s = 3
    s = FaultServer(BINARY, config={"server": {"timeout_s": str(timeout_s)}})
    try:
        s.start()
        stop = threading.Event()
        fast = []
        fast_errors = []

        def normal_client():
            while not stop.is_set():
                t = time.time()
                try:
                    st, _, _ = s.get("/healthz", headers={"Connection": "close"})
                    fast.append((time.time() - t, st))
                except (OSError, http.client.HTTPException) as e:
                    fast_errors.append(repr(e))
                time.sleep(0.1)

        late_in_a_second()
        idle = [socket.create_connection(("127.0.0.1", s.port), timeout=10)
                for _ in range(10)]
        opened = time.time()
        idle_closed = {}

        def watch_idle():
            """Notes when the server closes each idle connection."""
            while len(idle_closed) < len(idle) and time.time() < opened + timeout_s + 3:
                live = [k for k in idle if k not in idle_closed]
                ready, _, _ = select.select(live, [], [], 0.05)
                for k in ready:
                    try:
                        data = k.recv(4096)
                    except ConnectionResetError:
                        data = b""
                    idle_closed[k] = (time.time() - opened, data[:40])

        watcher = threading.Thread(target=watch_idle)
        watcher.start()
        helper = threading.Thread(target=normal_client)
        helper.start()
        # a request header one byte a second: never complete within the test
        dribble = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        dribble.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"p" * 100
        start = time.time()
        closed_after = None
        for byte in request:
            try:
                dribble.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.time() - start
                break
            ready, _, _ = select.select([dribble], [], [], 1.0)
            if ready:
                try:
                    data = dribble.recv(4096)
                except ConnectionResetError:
                    data = b""
                check(data == b"" or data.startswith(b"HTTP/1.1 408"),
                      "the dribbling client got %r" % data[:80])
                closed_after = time.time() - start
                break
            if time.time() - start > timeout_s + 5:
                break
        dribble.close()
        watcher.join(timeout_s + 5)
        for k in idle:
            k.close()
        idle_times = [idle_closed[k][0] if k in idle_closed else None for k in idle]
        stop.set()
        helper.join(10)
        print("# dribbling client closed after %s s; idle ones after %s s; %d normal requests, "
              "slowest %.3f s" % ("%.2f" % closed_after if closed_after else "never",
                                  ", ".join("%.2f" % t if t else "never" for t in idle_times),
                                  len(fast), max([t for t, _ in fast] or [0])))
        check(closed_after is not None,
              "a client sending its header a byte a second was still connected after %d s"
              % (timeout_s + 5))
        check(timeout_s - 0.1 <= closed_after <= timeout_s + 2,
              "the dribbling client was closed after %.2f s, want between timeout_s (%d s: "
              "no earlier, it may take that long) and timeout_s + 2 s"
              % (closed_after, timeout_s))
        check(all(t is not None and timeout_s - 0.1 <= t <= timeout_s + 2 for t in idle_times),
              "idle connections closed after %r s, want between timeout_s (%d s) and "
              "timeout_s + 2 s" % (idle_times, timeout_s))
        for k, (_, data) in idle_closed.items():
            check(data == b"" or data.startswith(b"HTTP/1.1 408"), "an idle client got %r" % data)
        eq(fast_errors, [], "normal requests failed")
        check(len(fast) >= 15, "only %d normal requests" % len(fast))
        eq(set(st for _, st in fast), {200})
        slow = [t for t, _ in fast if t > 0.2 * SLOW]
        eq(slow, [], "normal requests slower than 200 ms")
        eq(s.stop(), 0, "exit status")
    finally:
        s.cleanup()


# what clients and logs never see

def no_paths_or_sql_in_bodies():
    check(len(BODIES) > 1000, "only %d bodies collected" % len(BODIES))
    check(any(st == 503 for _, st, _ in BODIES), "no 503 among the collected answers")
    bad = []
    for what, st, body in BODIES:
        text = body.decode("utf-8", "replace")
        for needle in sorted(PATHS) + ["SELECT", "INSERT"]:
            if needle in text:
                bad.append((what, st, needle))
        if "sqlite" in text.lower():
            bad.append((what, st, "sqlite"))
    eq(bad[:10], [], "bodies that show a host path or SQL")
    print("# %d bodies checked, %d of them errors" % (len(BODIES),
                                                      sum(1 for _, st, _ in BODIES if st >= 400)))


def token_not_logged():
    token = "tok-%016x" % random.getrandbits(64)
    s = FaultServer(BINARY, token=token)
    wrong = ["wrong-%016x" % random.getrandbits(64), token + "x", token[:-1], token.upper()]
    try:
        s.start()
        eq(s.json("POST", "/api/articles", {"title": "Secret", "body": "x"}, auth=True)[0], 201)
        eq(s.json("PUT", "/api/articles/secret", {"title": "Secret", "body": "y"},
                  auth=True)[0], 200)
        eq(s.get("/api/articles?status=all", auth=True)[0], 200)
        for w in wrong:
            st, _, _ = s.request("POST", "/api/articles", body={"title": "No", "body": "x"},
                                 headers={"Authorization": "Bearer " + w})
            eq(st, 401, "wrong token")
        for h in ("Basic " + token, "bearer " + token + " extra", token):
            st, _, _ = s.request("DELETE", "/api/articles/secret", headers={"Authorization": h})
            check(st in (401, 204), "Authorization: %r gave %d" % (h, st))
        eq(s.request("DELETE", "/api/articles/secret", auth=True)[0], 204)
        eq(s.stop(), 0, "exit status")
        logs = {"access log": s.access_log(), "stderr": s.stderr()}
        check("POST /api/articles" in logs["access log"], "the access log has the requests")
        for name, text in logs.items():
            for secret in [token] + wrong:
                check(secret not in text, "%s shows a token: %r" % (name, secret))
            check(token[4:] not in text.lower(), "%s shows part of the token" % name)
    finally:
        s.cleanup()


run([
    ("kill -9 during a storm of writes loses nothing acknowledged", kill9_storm),
    ("a read-only database: reads 200, writes 503, recovery without restart",
     read_only_database),
    ("a full disk: writes 503, reads 200, recovery, nothing corrupted", disk_full),
    ("SIGHUP with a broken template under load drops nothing", sighup_under_load),
    ("more connections than max_connections are refused fast", connection_limit),
    ("a slow header is cut off at timeout_s; others stay fast", slow_clients),
    ("no host path or SQL in any answer", no_paths_or_sql_in_bodies),
    ("the token never reaches a log", token_not_logged),
])
