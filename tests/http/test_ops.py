"""test_ops.py - what an operator runs (SPEC §16) against the real binary: gazette check,
gazette backup during a write storm, SIGUSR1 after logrotate's move, /metrics parsed by a
strict reader of Prometheus's text format, /healthz's version. Every request goes to
127.0.0.1; another client address is only ever presented through X-Forwarded-For."""

import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

from harness import Server, VALGRIND, check, eq, pg, post, run, server_test

BINARY = sys.argv[1]
ON_PG = pg.attached() is not None


def version():
    out = subprocess.run([BINARY, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def with_server(fn, **kw):
    return server_test(BINARY, fn, **kw)


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


# --- gazette check ---

def check_cmd(s, config_text):
    """Runs gazette check on config_text written beside s's own config: (status, stderr)."""
    path = os.path.join(s.dir, "check.ini")
    with open(path, "wb") as f:
        f.write(config_text)
    r = s.run_cli("check", "-c", path)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def check_problems():
    """check names each problem, every one of them in one run, and exits 2; ok on a good one."""
    s = Server(BINARY, sqlite=True)
    try:
        good = b"[paths]\ndatabase = gazette.db\n[site]\ntitle = Gazette\n"
        st, out, err = check_cmd(s, good)
        eq((st, out, err), (0, "ok\n", ""), "a good config")
        # and nothing was made by looking: no database file
        check(not os.path.exists(os.path.join(s.dir, "gazette.db")), "check created the database")

        # each problem alone
        cases = [
            (b"[server]\nthreads = 2\ncolour = blue\n", ["check.ini:3:", "unknown key 'colour'"]),
            (b"[site]\ntitle = Z\xfcrich\n", ["check.ini:2:", "site.title: not valid UTF-8"]),
            (b"[paths]\ndatabase = no-such-folder/gazette.db\n",
             ["paths.database", "no-such-folder", "does not exist"]),
        ]
        for text, want in cases:
            st, out, err = check_cmd(s, text)
            eq(st, 2, "exit status for %r: %s" % (text, err))
            eq(out, "", "nothing on stdout")
            for w in want:
                check(w in err, "%r not in %r" % (w, err))

        # a broken template, named with its file and line
        with open(os.path.join(s.dir, "templates", "article.mustache"), "a") as f:
            f.write("\n{{#unclosed}}\n")
        st, out, err = check_cmd(s, good)
        eq(st, 2, err)
        check("paths.templates:" in err and "article.mustache:" in err and "unclosed" in err, err)

        # all four at once: every one is reported, each on a line of its own
        st, out, err = check_cmd(
            s, b"[server]\ncolour = blue\n[site]\ntitle = Z\xfcrich\n"
               b"[paths]\ndatabase = no-such-folder/gazette.db\n")
        eq(st, 2)
        lines = err.strip().split("\n")
        eq(len(lines), 4, err)
        for want in ["unknown key 'colour'", "not valid UTF-8", "paths.templates:",
                     "no-such-folder"]:
            eq(sum(want in line for line in lines), 1, "%r once in %r" % (want, err))
        check(all(line.startswith("gazette: ") for line in lines), err)
        check("Traceback" not in err and "(null)" not in err, err)
    finally:
        s.cleanup()


def check_live_database(s):
    """check opens the database a running server uses, read-only, and changes nothing."""
    post(s, {"title": "Checked", "body": "b"})
    before = s.json("GET", "/api/articles")[2]["total"]
    r = s.run_cli("check", "-c", s.config_path)
    eq((r.returncode, r.stdout, r.stderr), (0, b"ok\n", b""))
    eq(s.json("GET", "/api/articles")[2]["total"], before)


def check_newer_schema():
    """A database written by a newer gazette is named as such, and not touched."""
    s = Server(BINARY, sqlite=True)
    try:
        db = os.path.join(s.dir, "gazette.db")
        con = sqlite3.connect(db)
        con.execute("PRAGMA user_version = 99")
        con.close()
        r = s.run_cli("check", "-c", s.config_path)
        eq(r.returncode, 2, r.stderr)
        check(b"schema version 99" in r.stderr, r.stderr)
        con = sqlite3.connect(db)
        eq(con.execute("PRAGMA user_version").fetchone()[0], 99)
        con.close()
    finally:
        s.cleanup()


# --- gazette backup ---

def backup_during_storm():
    """A backup taken in the middle of a 30-second write storm opens, passes integrity_check,
    holds every write acknowledged before it began, and serves as a database again."""
    s = Server(BINARY, sqlite=True)
    restored = None
    try:
        s.start()
        acked = []  # (monotonic time the 201 arrived, slug)
        errors = []
        stop = threading.Event()

        def writer(n):
            c = s.conn()
            i = 0
            while not stop.is_set():
                try:
                    st, _, a = s.json("POST", "/api/articles",
                                      {"title": "Storm %d-%d" % (n, i), "body": "x " * 200,
                                       "tags": ["storm"]}, auth=True, conn=c)
                except Exception as e:  # noqa
                    errors.append(repr(e))
                    c = s.conn()
                    continue
                if st == 201:
                    acked.append((time.monotonic(), a["slug"]))
                else:
                    errors.append(st)
                i += 1
            c.close()

        storm = 10 if VALGRIND else 30
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(storm / 2)
        dest = os.path.join(s.dir, "backups", "gazette-copy.db")
        os.mkdir(os.path.dirname(dest))
        began = time.monotonic()
        before = [slug for t, slug in list(acked) if t < began]
        r = s.run_cli("backup", "-c", s.config_path, dest)
        ended = time.monotonic()
        during = sum(1 for t, _ in list(acked) if began <= t < ended)
        time.sleep(max(0, storm - (time.monotonic() - t0)))
        stop.set()
        for t in threads:
            t.join()
        eq(errors, [], "every write answered 201")
        eq(r.returncode, 0, r.stderr)
        check(re.search(rb"backup: .*gazette-copy.db: \d+ stories, \d+ bytes, integrity_check ok",
                        r.stderr), r.stderr)
        check(len(before) > 20, "writes before the backup: %d" % len(before))
        eq(os.stat(dest).st_mode & 0o777, 0o600, "the copy is its owner's alone")
        eq(sorted(os.listdir(os.path.dirname(dest))), ["gazette-copy.db"], "no -wal or temporary")

        with open(dest, "rb") as f:
            header = f.read(20)
        eq((header[:16], header[18], header[19]), (b"SQLite format 3\0", 1, 1),
           "a rollback-journal file, not WAL: the copy is one file")
        con = sqlite3.connect("file:%s?mode=ro" % dest, uri=True)
        eq(con.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
        in_copy = set(row[0] for row in con.execute("SELECT slug FROM articles"))
        con.close()
        missing = [slug for slug in before if slug not in in_copy]
        eq(missing, [], "acknowledged before the backup began, missing from it")
        check(len(in_copy) < len(acked), "the storm went on after the copy was taken")
        print("# %d writes acknowledged before the backup, %d during its %.2f s, %d in the copy, "
              "%d in all" % (len(before), during, ended - began, len(in_copy), len(acked)))

        # restoring is putting the copy at paths.database: it serves
        restored = Server(BINARY, sqlite=True)
        os.replace(dest, os.path.join(restored.dir, "gazette.db"))
        restored.start()
        eq(restored.json("GET", "/api/articles?tag=storm")[2]["total"], len(in_copy))
        eq(restored.get("/articles/" + before[0])[0], 200)
        eq(restored.stop(), 0)
        eq(s.stop(), 0)
    finally:
        s.cleanup()
        if restored:
            restored.cleanup()


def backup_refusals():
    """A folder as DEST, an unwritable place, no database: each a clear error, nothing left."""
    s = Server(BINARY, sqlite=True)
    try:
        r = s.run_cli("backup", "-c", s.config_path, os.path.join(s.dir, "x.db"))
        eq(r.returncode, 1, r.stderr)
        check(b"no database at" in r.stderr, r.stderr)
        s.start()
        post(s, {"title": "Kept", "body": "b"})
        r = s.run_cli("backup", "-c", s.config_path, s.dir)
        eq(r.returncode, 2)
        check(b"is a folder" in r.stderr, r.stderr)
        r = s.run_cli("backup", "-c", s.config_path, os.path.join(s.dir, "nowhere", "x.db"))
        eq(r.returncode, 1)
        check(b"cannot create" in r.stderr, r.stderr)
        r = s.run_cli("backup", "-c", s.config_path)
        eq(r.returncode, 2)
        # never over the live database or the files beside it, by any name
        db = os.path.join(s.dir, "gazette.db")
        os.link(db, os.path.join(s.dir, "hard.db"))
        os.symlink(s.dir, os.path.join(s.dir, "here"))
        for dest in [db, db + "-wal", db + "-shm", db + "-journal", os.path.join(s.dir, "hard.db"),
                     os.path.join(s.dir, "here", "gazette.db"), os.path.join(s.dir, ".", "gazette.db")]:
            with open(db, "rb") as f:
                before = f.read()
            r = s.run_cli("backup", "-c", s.config_path, dest)
            eq(r.returncode, 2, dest)
            check(b"is the database itself" in r.stderr, r.stderr)
            with open(db, "rb") as f:
                eq(f.read() == before, True, "the database was touched by a backup to " + dest)
        eq(s.get("/articles/kept")[0], 200)
        post(s, {"title": "After the refusals", "body": "b"})
        # a good one replaces an old copy whole
        dest = os.path.join(s.dir, "copy.db")
        with open(dest, "w") as f:
            f.write("an older backup")
        r = s.run_cli("backup", "-c", s.config_path, dest)
        eq(r.returncode, 0, r.stderr)
        con = sqlite3.connect(dest)
        eq(con.execute("SELECT count(*) FROM articles").fetchone()[0], 2)
        con.close()
        check(not [n for n in os.listdir(s.dir) if ".tmp-" in n], "temporary files left")
        eq(s.stop(), 0)
    finally:
        s.cleanup()


def backup_on_postgresql(s):
    """PostgreSQL has its own tool: backup says so and exits 2."""
    r = s.run_cli("backup", "-c", s.config_path, os.path.join(s.dir, "x.db"))
    eq(r.returncode, 2, r.stderr)
    check(b"pg_dump" in r.stderr, r.stderr)
    check(not os.path.exists(os.path.join(s.dir, "x.db")))
    r = s.run_cli("check", "-c", s.config_path)
    eq((r.returncode, r.stdout), (0, b"ok\n"), r.stderr)


# --- SIGUSR1 ---

def reopen_after_rotation():
    """mv access.log access.log.1, then SIGUSR1: new lines go to a new access.log, and every
    request, also those answered while it happened, is in one of the two files."""
    s = Server(BINARY, config={"log": {"access_log": "access.log"}})
    try:
        s.start()
        answered = [0]
        stop = threading.Event()
        errors = []

        def reader():
            c = s.conn()
            while not stop.is_set():
                try:
                    st, _, _ = s.get("/healthz", conn=c)
                    if st != 200:
                        errors.append(st)
                    answered[0] += 1
                except Exception as e:  # noqa
                    errors.append(repr(e))
                    c = s.conn()
            c.close()

        for _ in range(20):
            eq(s.get("/healthz")[0], 200)
        t = threading.Thread(target=reader)
        t.start()
        time.sleep(0.3)
        log = os.path.join(s.dir, "access.log")
        os.rename(log, log + ".1")
        time.sleep(0.3)  # lines keep going to the moved file meanwhile, as with nginx
        s.kill(signal.SIGUSR1)
        wait_for(lambda: "SIGUSR1: access log reopened" in s.stderr(), 10, "the reopen")
        wait_for(lambda: os.path.exists(log), 5, "a new access.log")
        time.sleep(0.3)
        stop.set()
        t.join()
        for _ in range(5):
            eq(s.get("/healthz?after")[0], 200)
        eq(s.stop(), 0)
        eq(errors, [])
        with open(log + ".1") as f:
            old = f.read().splitlines()
        with open(log) as f:
            new = f.read().splitlines()
        eq(len(old) + len(new), 20 + answered[0] + 5, "lines in access.log.1 and access.log")
        check(len(new) >= 5 and all('"GET /healthz?after HTTP/1.1" 200' in line
                                    for line in new[-5:]), new[-5:])
        check(not any("?after" in line for line in old), "a line after the reopen went to the old file")
        check(all(line.endswith('"') for line in old + new), "a torn line")
    finally:
        s.cleanup()


# --- /metrics ---

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
FLOAT = re.compile(r"^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]Inf|NaN)$")


def parse_sample(line, where):
    """name{label="value",...} value [timestamp], by the format's grammar: (name, labels as
    ((key, raw value), ...), value text)."""
    m = re.match(NAME, line)
    check(m, "no metric name: " + where)
    name, i = m.group(0), m.end()
    labels = []
    if i < len(line) and line[i] == "{":
        i += 1
        while line[i:i + 1] != "}":
            m = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(line, i)
            check(m and line[m.end():m.end() + 2] == '="', "a label: " + where)
            key, i = m.group(0), m.end() + 2
            start = i
            while i < len(line) and line[i] != '"':
                if line[i] == "\\":
                    check(line[i + 1:i + 2] in ("\\", '"', "n"), "an escape: " + where)
                    i += 1
                i += 1
            check(i < len(line), "an unterminated label value: " + where)
            labels.append((key, line[start:i]))
            i += 1
            if line[i:i + 1] == ",":
                i += 1
            else:
                check(line[i:i + 1] == "}", "labels: " + where)
        i += 1
        check(len(set(k for k, _ in labels)) == len(labels), "a label twice: " + where)
    check(line[i:i + 1] == " ", "no value: " + where)
    parts = line[i + 1:].split(" ")
    check(len(parts) in (1, 2) and FLOAT.match(parts[0]), "not a number: " + where)
    check(len(parts) == 1 or re.match(r"^-?\d+$", parts[1]), "a timestamp: " + where)
    return name, tuple(labels), parts[0]


def parse_metrics(text):
    """Prometheus's text exposition format 0.0.4, strictly: every line a HELP, a TYPE or a
    sample; HELP and TYPE at most once per family and before its samples; a family's samples
    together; no sample twice; histograms with le buckets that only grow, +Inf last and equal
    to _count. Returns {family: {"type": t, "samples": {(name, labels): value}}}."""
    check(text.endswith("\n"), "the exposition ends with a newline")
    families, current, done = {}, None, set()
    types = {}

    def family_of(name):
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                return name[:-len(suffix)]
        return name

    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d: %r" % (n, line)
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % NAME, line)
            check(m, "a comment that is not HELP or TYPE: " + where)
            kind, name, rest = m.groups()
            fam = families.setdefault(name, {"type": "untyped", "samples": {}, "help": None})
            check(name not in done and not fam["samples"], "HELP/TYPE after samples: " + where)
            if kind == "TYPE":
                check(rest in ("counter", "gauge", "histogram", "summary", "untyped"), where)
                check(name not in types, "TYPE twice: " + where)
                types[name] = fam["type"] = rest
            else:
                check(fam["help"] is None, "HELP twice: " + where)
                fam["help"] = rest
            if current != name and current is not None:
                done.add(current)
            current = name
            continue
        check(line != "", "an empty line: " + where)
        name, labels, val = parse_sample(line, where)
        fam_name = family_of(name)
        check(fam_name not in done, "a family's samples apart: " + where)
        if current != fam_name and current is not None:
            done.add(current)
        current = fam_name
        fam = families.setdefault(fam_name, {"type": "untyped", "samples": {}, "help": None})
        key = (name, tuple(sorted(labels)))
        check(key not in fam["samples"], "a sample twice: " + where)
        fam["samples"][key] = float(val)
    for fam_name, fam in families.items():
        if fam["type"] == "counter":
            check(all(v >= 0 for v in fam["samples"].values()), fam_name + ": a negative counter")
        if fam["type"] != "histogram":
            continue
        series = {}
        for (name, labels), v in fam["samples"].items():
            rest = tuple(kv for kv in labels if kv[0] != "le")
            entry = series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
            if name.endswith("_bucket"):
                le = dict(labels)["le"]
                entry["buckets"].append((math.inf if le == "+Inf" else float(le), v))
            elif name.endswith("_sum"):
                entry["sum"] = v
            else:
                entry["count"] = v
        for rest, e in series.items():
            b = e["buckets"]
            check(b and b[-1][0] == math.inf, "%s %r: no +Inf bucket last" % (fam_name, rest))
            check(all(b[i][0] < b[i + 1][0] and b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)),
                  "%s %r: buckets out of order or shrinking" % (fam_name, rest))
            eq(b[-1][1], e["count"], "%s %r: +Inf bucket and _count" % (fam_name, rest))
            check(e["sum"] is not None and e["sum"] >= 0, "%s %r: _sum" % (fam_name, rest))
    return families


def value(families, family, name=None, **labels):
    fam = families.get(family)
    if not fam:
        return 0
    key = (name or family, tuple(sorted(labels.items())))
    return fam["samples"].get(key, 0)


def parser_refuses():
    """The parser itself refuses what the format does not allow, so a pass means something."""
    bad = [
        "x 1",  # no final newline
        "x{a=\"1\"} 1\nx{a=\"1\"} 2\n",  # twice
        "# TYPE x counter\n# TYPE x counter\nx 1\n",
        "x 1\n# TYPE x counter\n",
        "x{a=1} 1\n",
        "x one\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        "x 1\ny 1\nx{a=\"b\"} 1\n",
        "\n",
        "# random comment\nx 1\n",
    ]
    for text in bad:
        try:
            parse_metrics(text)
        except AssertionError:
            continue
        raise AssertionError("the parser took %r" % text)
    ok = parse_metrics("# HELP x a thing\n# TYPE x counter\nx{a=\"q\\\"\"} 1\nx 2 1700000000\n")
    eq(value(ok, "x", a='q\\"'), 1.0)
    eq(value(ok, "x"), 2.0)


def scrape(s, **kw):
    st, h, body = s.get("/metrics", **kw)
    eq(st, 200, body[:200])
    eq(h["content-type"], "text/plain; version=0.0.4; charset=utf-8")
    eq(h["cache-control"], "no-store")
    return parse_metrics(body.decode())


def metrics_count(s):
    """/metrics counts the requests this test made, by route and status, and the rest."""
    post(s, {"title": "Counted", "body": "b", "tags": ["t"]})
    before = scrape(s)
    for _ in range(7):
        eq(s.get("/articles/counted")[0], 200)
    for _ in range(3):
        eq(s.get("/articles/never-was")[0], 404)
    for _ in range(2):
        eq(s.get("/no/such/route")[0], 404)
    eq(s.get("/")[0], 200)
    eq(s.get("/")[0], 200)  # from the cache
    post(s, {"title": "Counted too", "body": "b"})
    after = scrape(s)

    def delta(family, name=None, **labels):
        return value(after, family, name, **labels) - value(before, family, name, **labels)

    eq(delta("gazette_requests_total", route="/articles/*", status="200"), 7)
    eq(delta("gazette_requests_total", route="/articles/*", status="404"), 3)
    eq(delta("gazette_requests_total", route="none", status="404"), 2)
    eq(delta("gazette_requests_total", route="/", status="200"), 2)
    eq(delta("gazette_requests_total", route="/api/articles", status="201"), 1)
    eq(delta("gazette_requests_total", route="/metrics", status="200"), 1, "the first scrape")
    eq(delta("gazette_request_duration_seconds", "gazette_request_duration_seconds_count",
             route="/articles/*"), 10)
    check(delta("gazette_request_duration_seconds", "gazette_request_duration_seconds_sum",
                route="/articles/*") > 0)
    eq(delta("gazette_store_writes_total"), 1)
    check(delta("gazette_store_query_seconds", "gazette_store_query_seconds_count", op="write") >= 1)
    check(delta("gazette_store_query_seconds", "gazette_store_query_seconds_count", op="get") >= 3)
    check(delta("gazette_cache_hits_total") >= 7, "the story's repeats came from the cache")
    check(delta("gazette_cache_misses_total") >= 1)
    check(value(after, "gazette_cache_bytes") > 0)
    check(value(after, "gazette_cache_max_bytes") >= value(after, "gazette_cache_bytes"))
    check(value(after, "gazette_open_connections") >= 1)
    check("gazette_outbox_backlog" in after, "the outbox's backlog is there")
    eq(value(after, "gazette_outbox_backlog"), 0)
    eq(value(after, "gazette_build_info", version=version()), 1)
    for name, fam in after.items():
        check(name.startswith("gazette_"), name)
        check(fam["help"], name + " has no HELP")
        check(fam["type"] != "untyped", name + " has no TYPE")


def metrics_allow_list():
    """metrics.allow decides by the client address (X-Forwarded-For's with trust_proxy): 403
    to any other, and an empty list keeps no metrics at all."""
    s = Server(BINARY, config={"server": {"trust_proxy": "true"},
                               "metrics": {"allow": "127.0.0.0/8 ::1 198.51.100.0/24"}})
    try:
        s.start()
        eq(s.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})[0], 200)
        scrape(s, headers={"X-Forwarded-For": "198.51.100.77"})
        for addr in ["203.0.113.5", "10.0.0.1", "198.51.101.1", "2001:db8::1"]:
            st, h, body = s.get("/metrics", headers={"X-Forwarded-For": addr})
            eq(st, 403, addr)
            check(b"gazette_" not in body, "the refusal carries no metrics")
            check(b"metrics.allow" in body, body)
        eq(s.request("HEAD", "/metrics", headers={"X-Forwarded-For": "203.0.113.5"})[0], 403)
        eq(s.stop(), 0)
    finally:
        s.cleanup()
    s = Server(BINARY, config={"metrics": {"allow": ""}})
    try:
        s.start()
        eq(s.get("/metrics")[0], 404)
        eq(s.stop(), 0)
    finally:
        s.cleanup()
    s = Server(BINARY, config={"metrics": {"allow": "localhost"}})
    try:
        try:
            s.start()
        except AssertionError as e:
            check("metrics.allow" in str(e) and "'localhost' is not an address" in str(e), str(e))
        else:
            raise AssertionError("a name in metrics.allow was taken")
        eq(s.proc.wait(), 2)
    finally:
        s.cleanup()


def metrics_without_trust_proxy(s):
    """Without trust_proxy, X-Forwarded-For is the client's to write and changes nothing:
    neither a refusal for the loopback client nor a way in for another."""
    scrape(s, headers={"X-Forwarded-For": "203.0.113.5"})
    scrape(s, headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.5"})


def metrics_under_threads(s):
    """Counts from many threads at once are all there: no count is lost between shards."""
    before = scrape(s)
    n, workers = 200, 4

    def hit():
        c = s.conn()
        for _ in range(n):
            s.get("/healthz", conn=c)
        c.close()

    threads = [threading.Thread(target=hit) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = scrape(s)
    eq(value(after, "gazette_requests_total", route="/healthz", status="200") -
       value(before, "gazette_requests_total", route="/healthz", status="200"), n * workers)


def healthz_version(s):
    st, _, body = s.json("GET", "/healthz")
    eq(st, 200)
    eq(body["version"], version())
    eq(body["status"], "ok")


tests = [
    ("/healthz names the version", with_server(healthz_version)),
    ("the metrics parser refuses what the format does not allow", parser_refuses),
    ("/metrics counts every request by route and status", with_server(metrics_count)),
    ("/metrics from several threads at once", with_server(metrics_under_threads,
                                                          config={"server": {"threads": "4"}})),
    ("/metrics only to metrics.allow", metrics_allow_list),
    ("/metrics: X-Forwarded-For means nothing without trust_proxy",
     with_server(metrics_without_trust_proxy)),
    ("SIGUSR1 reopens the access log after logrotate's mv", reopen_after_rotation),
    ("check on a live database changes nothing", with_server(check_live_database)),
]
def check_fresh_postgresql():
    """An empty PostgreSQL database (no schema yet, made on first start) is fine to check,
    and checking it makes nothing."""
    s = Server(BINARY)
    try:
        for _ in range(2):
            r = s.run_cli("check", "-c", s.config_path)
            eq((r.returncode, r.stdout, r.stderr), (0, b"ok\n", b""))
        s.start()  # and the server then sets it up
        eq(s.json("GET", "/healthz")[2]["articles"], 0)
        eq(s.stop(), 0)
    finally:
        s.cleanup()


if ON_PG:
    tests += [("backup and check on PostgreSQL", with_server(backup_on_postgresql)),
              ("check on an empty PostgreSQL database", check_fresh_postgresql)]
else:
    tests += [
        ("check names every problem, exit 2; ok on a good config", check_problems),
        ("check names a database of a newer schema", check_newer_schema),
        ("backup during a write storm", backup_during_storm),
        ("backup's refusals change nothing", backup_refusals),
    ]

if __name__ == "__main__":
    run(tests)
