"""test_postgresql.py - SPEC §10 on a real PostgreSQL this test starts (pg.py): configuration,
migrations under the advisory lock, moving a site between engines, search in every script,
and faults: the database stopped under load, restarted, killed with writes acknowledged."""

import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse

import pg
from harness import Server, check, eq, post, run, server_test
from nginx import free_port
from seed import SEED, SEED_SLUG

BINARY = os.path.abspath(sys.argv[1])
CHINESE = {
    "title": "吉林省经贸代表团赴俄罗斯远东地区开展经贸活动",
    "body": "吉林省经贸代表团周一从珲春陆路口岸出发，赴俄罗斯远东地区开展为期五天的经贸交流活动。",
    "language": "zh-Hans",
    "tags": ["经济"],
    "published_at": "2023-01-12T14:33:00+08:00",
}

CLUSTER = None


def cluster():
    """This test's own PostgreSQL (the fault tests stop and start it)."""
    global CLUSTER
    if CLUSTER is None:
        CLUSTER = pg.Postgres().start()
    return CLUSTER


def pg_server(url=None, **kw):
    config = kw.pop("config", {})
    config.setdefault("database", {})["url"] = url or cluster().new_database()
    return Server(BINARY, config=config, **kw)


def dbname(s):
    """The PostgreSQL database a server's configuration names."""
    with open(s.config_path) as f:
        url = [line for line in f if line.startswith("url = ")][0]
    return url.split("/")[3].split("?")[0]


def records(s):
    """Every record the server's database holds, as `gazette export` prints them."""
    r = s.run_cli("export", "-c", s.config_path)
    eq(r.returncode, 0, "export: %r" % r.stderr)
    return json.loads(r.stdout)["articles"]


def fill(s):
    """A site with every kind of record: published, draft, scheduled, Chinese, tagged, a uri."""
    post(s, SEED)
    post(s, CHINESE)
    post(s, {"title": "Draft plan", "body": "not yet", "status": "draft"})
    post(s, {"title": "Next year", "body": "later", "published_at": "2099-01-01T00:00:00Z"})
    st, _, _ = s.json("POST", "/api/ninjs", {"uri": "urn:example:wire:1", "type": "text",
                                             "headlines": [{"value": "From the wire"}],
                                             "bodies": [{"contentType": "text/plain",
                                                         "value": "Wire copy."}],
                                             "firstCreated": "2023-01-13T08:00:00Z",
                                             "pubStatus": "usable"}, auth=True)
    check(st in (200, 201), "ninjs post: %d" % st)


def refused(s, status, says, secret):
    """Starts s's binary with its config and environment: it must exit with status, saying
    says, and never secret."""
    r = subprocess.run([BINARY, "serve", "-c", s.config_path], capture_output=True, text=True,
                       timeout=20, env=s.env)
    eq(r.returncode, status, r.stderr)
    check(says in r.stderr and secret not in r.stderr, r.stderr)


def configuration():
    for url, status, says, secret in (
            # a URL that is not PostgreSQL's: exit 2 naming the key, never echoing the value
            ("mysql://root:hunter2@localhost/x", 2, "database.url", "hunter2"),
            # a URL libpq cannot parse: its own message would quote the password
            ("postgresql://gazette:se%zzcret@[::1/x", 1, "cannot be parsed", "zzcret")):
        s = pg_server(url=url)
        try:
            refused(s, status, says, secret)
        finally:
            s.cleanup()
    # $GAZETTE_DATABASE_URL wins over the file; a server that cannot be reached: exit 1 with
    # libpq's reason, and the password in neither the message nor the log
    dead = "postgresql://gazette:s3cret-pw@127.0.0.1:%d/none?connect_timeout=2" % free_port()
    s = Server(BINARY, env={"GAZETTE_DATABASE_URL": dead}, sqlite=True)
    try:
        refused(s, 1, "PostgreSQL", "s3cret-pw")
        check(not os.path.exists(os.path.join(s.dir, "gazette.db")), "fell back to SQLite")
        r = s.run_cli("export")
        check(r.returncode == 1 and b"s3cret-pw" not in r.stderr, r.stderr)
    finally:
        s.cleanup()


def migrations_under_lock():
    # four instances started together on one empty database: one creates the schema, the
    # others wait for its lock and find it done; all serve
    url = cluster().new_database()
    servers = [pg_server(url) for _ in range(4)]
    try:
        procs = [subprocess.Popen([BINARY, "serve", "-c", s.config_path], stderr=open(s.stderr_path, "w"),
                                  cwd=s.dir, env=s.env) for s in servers]
        for s, p in zip(servers, procs):
            s.proc = p
            s.stderr_file = open(s.stderr_path)
        deadline = time.time() + 20
        for s in servers:
            while "listening on" not in s.stderr() and time.time() < deadline:
                check(s.proc.poll() is None, "instance exited: " + s.stderr())
                time.sleep(0.05)
            check("listening on" in s.stderr(), s.stderr())
            s.port = int(s.stderr().split("listening on ")[1].split("\n")[0].rsplit(":", 1)[1])
        db = url.split("/")[3].split("?")[0]
        eq(cluster().psql("SELECT version FROM gazette_schema", db), "3")  # the outbox (SPEC §13) is the third
        post(servers[0], SEED)
        for s in servers:
            eq(s.get("/articles/" + SEED_SLUG)[0], 200)
        for s in servers:
            eq(s.stop(), 0)
    finally:
        for s in servers:
            s.cleanup()


def round_trip():
    # an SQLite site moved to PostgreSQL with one command, and back: the same records
    lite = Server(BINARY, sqlite=True)
    try:
        lite.start()
        fill(lite)
        before = records(lite)
        eq(len(before), 5)
        url = cluster().new_database()
        r = lite.run_cli("migrate", "-c", lite.config_path, "--to", url)
        eq(r.returncode, 0, r.stderr)
        check(b"migrated 5 articles to the PostgreSQL database" in r.stderr, r.stderr)
        # a target that is not empty is refused, and keeps what it has
        r = lite.run_cli("migrate", "-c", lite.config_path, "--to", url)
        eq(r.returncode, 1)
        check(b"already holds 5 articles" in r.stderr, r.stderr)
        onpg = pg_server(url)
        try:
            eq(records(onpg), before, "records on PostgreSQL")
            onpg.start()
            for path in ("/", "/articles/" + SEED_SLUG, "/articles/article-2", "/feed.xml",
                         "/tags/" + urllib.parse.quote("经济"), "/sitemap.xml"):
                a, b = lite.get(path), onpg.get(path)
                eq(b[0], a[0], path)
                # the feed's own <updated> is the last write: the migration's, on PostgreSQL
                a, b = (re.sub(rb"(<feed.*?)<updated>[^<]*", rb"\1", x[2], count=1, flags=re.S)
                        for x in (a, b))
                eq(b, a, "the page %s differs between the engines" % path)
            eq(onpg.get("/articles/next-year")[0], 404)  # still scheduled
            # and back into a new SQLite file
            back = os.path.join(onpg.dir, "back.db")
            r = onpg.run_cli("migrate", "-c", onpg.config_path, "--to", back)
            eq(r.returncode, 0, r.stderr)
            again = Server(BINARY, config={"paths": {"database": back}})
            try:
                eq(records(again), before, "records back on SQLite")
            finally:
                again.cleanup()
            # the other way, with export | import
            other = pg_server()
            try:
                exp = lite.run_cli("export", "-c", lite.config_path)
                r = other.run_cli("import", "-c", other.config_path, "-", input=exp.stdout)
                eq(r.returncode, 0, r.stderr)
                eq(records(other), before, "export | import")
            finally:
                other.cleanup()
            eq(onpg.stop(), 0)
        finally:
            onpg.cleanup()
        eq(lite.stop(), 0)
    finally:
        lite.cleanup()


def search_everywhere(s):
    post(s, SEED)
    post(s, CHINESE)
    post(s, {"title": "Zürich report", "body": "Straße und Café. ＧＤＰ rose 😀."})
    for q, want in (("吉林", ["article-2"]), ("吉", ["article-2"]), ("zurich", ["zurich-report"]),
                    ("strasse", ["zurich-report"]), ("gdp", ["zurich-report"]),
                    ("😀", ["zurich-report"]), ("trade delegation", [SEED_SLUG]),
                    ("吉林 nothing", []), ("'\\\" & | ! <-> :* (", [])):
        st, _, data = s.json("GET", "/api/articles?q=" + urllib.parse.quote(q))
        eq(st, 200, q)
        eq([a["slug"] for a in data["articles"]], want, q)
    # a story of 300,000 Chinese characters (few distinct pairs) and 20,000 repeats of one
    # word stays within PostgreSQL's tsvector limits (256 positions a term, to 16,383):
    # stored whole, found by its title and first words
    chars = [chr(0x4E00 + i) for i in range(700)]
    body = "".join(chars[i % 700] + chars[(i * 7 + 3) % 700] for i in range(150000))
    big = post(s, {"title": "Long report", "body": "开头 " + body + " 结尾 " + "the " * 20000 + "zebra"},
               want=None)
    eq(big[0], 201, big[2])
    eq(s.json("GET", "/api/articles/" + big[2]["slug"])[2]["body"][-5:], "zebra")
    for q in ("开头", "long report"):
        st, _, data = s.json("GET", "/api/articles?q=" + urllib.parse.quote(q))
        eq(st, 200)
        check(big[2]["slug"] in [a["slug"] for a in data["articles"]], q)
    # and past 1 MiB of terms and positions: 100,000 distinct pairs repeated (1.5 MB), 200,000
    # distinct words each thrice (5 MB); the terms past the limit are not indexed
    rnd = random.Random(1)
    chars = [chr(0x4E00 + i) for i in range(3000)]
    pairs = ["".join(rnd.choice(chars) for _ in range(2)) for _ in range(100000)]
    for title, body in (("Repeated pairs", "".join(pairs[i % 100000] for i in range(250000))),
                        ("Many words", " ".join("w%dx" % (i % 200000) for i in range(600000)))):
        st, _, data = post(s, {"title": title, "body": body}, want=None)
        eq(st, 201, title)
        st, _, found = s.json("GET", "/api/articles?q=" + urllib.parse.quote(title))
        eq([a["slug"] for a in found["articles"]], [data["slug"]], title)


def reindex(s):
    # an index of another tokenizer version (a newer utf8proc) is rebuilt on start
    post(s, SEED)
    post(s, CHINESE)
    db = dbname(s)
    eq(s.stop(), 0)
    cluster().psql("UPDATE articles SET terms = ''; UPDATE gazette_meta SET value = 1"
                   " WHERE key = 'textsearch'", db)
    s.start()
    for q, slug in (("吉林", "article-2"), ("delegation", SEED_SLUG)):
        st, _, data = s.json("GET", "/api/articles?q=" + urllib.parse.quote(q))
        eq([a["slug"] for a in data["articles"]], [slug], q)
    check(cluster().psql("SELECT value FROM gazette_meta WHERE key = 'textsearch'", db) != "1")


def wait(cond, timeout):
    """Whether cond() held within timeout seconds (polled every 20 ms)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def write_lock_held(s):
    # another writer (here psql) holds the cluster's write lock: a write waits 5 s, then 503
    # with Retry-After and nothing changed; the writer is usable again once the lock is free
    post(s, SEED)
    holder = subprocess.Popen(["psql", "-X", "-q", "-h", cluster().dir, "-p", str(cluster().port),
                               "-U", pg.ROLE, "-d", dbname(s), "-c",
                               "SELECT pg_advisory_lock(7165627974657301), pg_sleep(7)"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        check(wait(lambda: cluster().psql("SELECT count(*) FROM pg_locks WHERE locktype ="
                                          " 'advisory' AND granted", dbname(s)) == "1", 10),
              "psql never took the lock")
        t0 = time.time()
        st, h, data = post(s, {"title": "Waiting", "body": "x"}, want=None)
        took = time.time() - t0
        eq(st, 503, data)
        check(h.get("retry-after") and 4 < took < 7, (h, took))
        eq(s.get("/articles/" + SEED_SLUG)[0], 200)  # reads never wait for it
    finally:
        holder.wait(20)
    post(s, {"title": "After the lock", "body": "x"})
    eq(s.json("GET", "/api/articles/waiting")[0], 404)


def load(s, paths, seconds, results, stop, auth=False):
    """Requests paths in turn until stop is set ("{i}" in one is the request's number, so that
    no cache can answer it); appends (path, status, retry_after, seconds, started)."""
    i = 0
    while not stop.is_set():
        path = paths[i % len(paths)].replace("{i}", str(i))
        i += 1
        t = time.time()
        try:
            if path == "POST":
                st, h, _ = s.json("POST", "/api/articles", {"title": "Under load %d" % i, "body": "x"},
                                  auth=True)
            else:
                st, h, _ = s.get(path)
            results.append((path, st, h.get("retry-after"), time.time() - t, t))
        except Exception as e:  # a hang or a reset is a failure of the test
            results.append((path, repr(e), None, time.time() - t, t))


def database_down():
    c = cluster()
    s = pg_server(config={"server": {"timeout_s": "5", "threads": "4"}})
    try:
        s.start()
        post(s, SEED)
        for i in range(5):
            post(s, {"title": "Story %d" % i, "body": "x"})
        cached = ["/", "/articles/" + SEED_SLUG, "/feed.xml"]
        for p in cached:
            eq(s.get(p)[0], 200)
        # stopped while a read load runs: statements in flight see it go (writes begin once it
        # is down: one committed before would rightly drop the cached pages)
        results, stop = [], threading.Event()
        uncached = ["/search?q=word{i}", "/api/articles?per_page=1&page={i}"]
        threads = [threading.Thread(target=load, args=(s, p, 0, results, stop)) for p in
                   (cached, uncached, ["POST"])]
        for t in threads[:2]:
            t.start()
        time.sleep(0.7)
        c.stop("fast")
        stopped = time.time()
        threads[2].start()
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join()
        check(s.proc.poll() is None, "the server died: " + s.stderr()[-2000:])
        served = [r for r in results if r[0] in cached]
        other = [r for r in results if r[0] not in cached]
        check([r for r in other if r[4] < stopped and r[1] == 200], "no load before")
        check([r for r in other if r[4] > stopped], "no load after the stop")
        bad = [r for r in served if r[1] != 200]
        eq(bad, [], "cached pages while PostgreSQL stops and is down")
        bad = [r for r in other if r[1] not in (200, 201, 503)]
        eq(bad[:5], [], "uncached reads and writes while PostgreSQL stops")
        bad = [r for r in other if r[4] > stopped + 0.5 and (r[1] != 503 or not r[2])]
        eq(bad[:5], [], "uncached reads and writes while PostgreSQL is down")
        slowest = max(r[3] for r in results)
        check(slowest < 5, "a request took %.1f s" % slowest)
        print("# down: %d cached 200s, %d 503s with Retry-After, slowest %.0f ms" % (
            len(served), len(other), slowest * 1000))
        # started again: reads and writes work with no restart of Gazette
        c.start()
        t0 = time.time()
        while time.time() - t0 < 15:
            if s.get("/articles/story-1")[0] == 200 and \
                    post(s, {"title": "After", "body": "x"}, want=None)[0] == 201:
                break
            time.sleep(0.1)
        recovered = time.time() - t0
        check(recovered < 10, "no recovery in %.1f s" % recovered)
        # and every connection with it: each thread's reads and writes, at once
        results, stop = [], threading.Event()
        threads = [threading.Thread(target=load, args=(s, p, 0, results, stop)) for p in
                   (cached, ["/articles/story-2", "/api/articles?per_page=3", "/search?q=delegation"], ["POST"])]
        for t in threads:
            t.start()
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join()
        eq([r for r in results if r[1] not in (200, 201)][:5], [], "after recovery")
        eq(s.json("GET", "/api/articles/after")[0], 200, "the write after recovery")
        print("# recovered %.2f s after PostgreSQL started again" % recovered)
        check("s3cret" not in s.stderr())
        eq(s.stop(), 0)
    finally:
        s.cleanup()
        if c.proc is None or c.proc.poll() is not None:
            c.start()  # for the tests after this one


def acknowledged_writes_survive():
    c = cluster()
    s = pg_server(config={"server": {"threads": "4"}})
    try:
        s.start()
        acked, lock = [], threading.Lock()

        def writer(k):
            for i in range(1000):
                st, _, data = s.json("POST", "/api/articles", {"title": "Durable %d-%d" % (k, i),
                                                              "body": "x"}, auth=True)
                if st != 201:
                    return
                with lock:
                    acked.append(data["slug"])

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        check(wait(lambda: len(acked) >= 20, 20), "no writes acknowledged")
        c.stop("immediate")  # a crash: no checkpoint, nothing flushed on the way out
        for t in threads:
            t.join()
        check(acked, "nothing was acknowledged before the crash")
        c.start()
        db = dbname(s)
        stored = set(c.psql("SELECT slug FROM articles", db).split())
        lost = [slug for slug in acked if slug not in stored]
        eq(lost, [], "acknowledged writes lost")
        print("# %d writes acknowledged before the crash, %d in the database after it" % (
            len(acked), len(stored)))
        eq(s.stop(), 0)
    finally:
        s.cleanup()


def main():
    if not pg.bindir():
        pg.skip_or_fail("PostgreSQL binaries not found: skipped")
    try:
        run([
            ("configuration", configuration),
            ("migrations_under_lock", migrations_under_lock),
            ("round_trip", round_trip),
            ("search_everywhere", lambda: server_test(BINARY, search_everywhere, config={
                "database": {"url": cluster().new_database()},
                "server": {"max_body_bytes": "8388608"}})()),
            ("write_lock_held", lambda: server_test(BINARY, write_lock_held, config={
                "database": {"url": cluster().new_database()}})()),
            ("reindex", lambda: server_test(BINARY, reindex, config={
                "database": {"url": cluster().new_database()}})()),
            ("database_down", database_down),
            ("acknowledged_writes_survive", acknowledged_writes_survive),
        ])
    finally:
        if CLUSTER:
            CLUSTER.cleanup()


if __name__ == "__main__":
    main()
