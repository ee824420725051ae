"""test_cluster.py - SPEC §10: two Gazette instances on one real PostgreSQL, behind the real
nginx with deploy/nginx-upstream.conf: a write on one is on the other's pages within a second,
a scheduled story goes public on both, kill -9 of one under a read load fails no read through
nginx, and concurrent writes through both never give one slug twice."""

import datetime
import os
import signal
import statistics
import sys
import threading
import time

import pg
from harness import Server, check, eq, post, run
from nginx import Nginx
from seed import SEED, SEED_SLUG

BINARY = os.path.abspath(sys.argv[1])


class Stack:
    """A PostgreSQL, instances a and b on one database of it, nginx in front of both."""

    def __init__(self):
        self.pg = pg.Postgres()
        self.url = self.pg.start().new_database()
        self.db = self.url.split("/")[3].split("?")[0]
        config = {"database": {"url": self.url}, "server": {"trust_proxy": "true", "threads": "4"}}
        self.a = Server(BINARY, config=config)
        self.b = Server(BINARY, config=config)
        self.nginx = None
        try:
            self.a.start()
            self.b.start()
            self.nginx = Nginx(None, os.path.join(self.a.dir, "static"),
                               upstreams=[self.a.port, self.b.port]).start()
        except BaseException:
            self.cleanup()
            raise

    def cleanup(self):
        if self.nginx:
            self.nginx.cleanup()
        self.a.cleanup()
        self.b.cleanup()
        self.pg.cleanup()

    def close(self):
        try:
            eq(self.nginx.stop(), 0, "nginx exit status")
            check("[emerg]" not in self.nginx.errors(), self.nginx.errors())
            for s in (self.a, self.b):
                if s.proc.poll() is None:
                    eq(s.stop(), 0, "gazette exit status")
        finally:
            self.cleanup()


def with_stack(fn):
    def test():
        st = Stack()
        try:
            fn(st)
        finally:
            st.close()
    return test


def wait_for(cond, timeout):
    """Seconds until cond() held (polled every 10 ms), or None after timeout."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return time.time() - t0
        time.sleep(0.01)
    return None


def front_has(s, slug):
    st, _, body = s.get("/")
    return st == 200 and ('href="/articles/%s"' % slug).encode() in body


def propagation(st):
    a, b = st.a, st.b
    post(a, SEED)
    delays = []
    for i in range(10):
        w, r = (a, b) if i % 2 == 0 else (b, a)
        eq(r.get("/")[0], 200)  # the reader's front page is in its cache
        story = post(w, {"title": "Propagated %d" % i, "body": "x"})
        d = wait_for(lambda: front_has(r, story["slug"]), 5)
        check(d is not None, "story %d never showed on the other instance" % i)
        delays.append(d)
    # an edit and a deletion travel the same way
    st_, _, _ = a.json("PUT", "/api/articles/" + SEED_SLUG, dict(SEED, title="Edited on a"),
                       auth=True)
    eq(st_, 200)
    delays.append(wait_for(lambda: b"Edited on a" in b.get("/articles/" + SEED_SLUG)[2], 5))
    eq(b.request("DELETE", "/api/articles/propagated-0", auth=True)[0], 204)
    delays.append(wait_for(lambda: a.get("/articles/propagated-0")[0] == 404, 5))
    check(None not in delays, "an edit or a deletion never showed: %r" % delays)
    print("# propagation over %d writes: median %.0f ms, max %.0f ms" % (
        len(delays), statistics.median(delays) * 1000, max(delays) * 1000))
    check(max(delays) < 1.0, "a write took %.2f s to show on the other instance" % max(delays))


def lost_notifications(st):
    """The listener's connection cut (what a restart or a network cut does): a write made
    while it is gone is not replayed, so the instance drops its whole cache once back."""
    a, b = st.a, st.b
    post(a, SEED)
    eq(a.get("/")[0], 200)  # cached on a
    listeners = "FROM pg_stat_activity WHERE datname = '%s' AND query = 'LISTEN gazette_changes'" % (
        st.db)
    eq(len(st.pg.psql("SELECT pid " + listeners).split()), 2, "one listener per instance")
    # cut both listeners and keep them out (no new connection to the database) while b
    # writes: no notification can reach a, whatever the timing
    st.pg.psql("ALTER DATABASE %s ALLOW_CONNECTIONS false" % st.db)
    st.pg.psql("SELECT pg_terminate_backend(pid) " + listeners)
    check(wait_for(lambda: st.pg.psql("SELECT count(*) " + listeners) == "0", 5), "still listening")
    story = post(b, {"title": "While nobody listened", "body": "x"})
    check(wait_for(lambda: "lost the PostgreSQL notifications" in a.stderr(), 5), a.stderr())
    time.sleep(0.5)
    check(not front_has(a, story["slug"]), "a saw the write with nobody listening?")
    st.pg.psql("ALTER DATABASE %s ALLOW_CONNECTIONS true" % st.db)
    d = wait_for(lambda: front_has(a, story["slug"]), 10)
    check(d is not None, "a kept its stale page after listening again")
    print("# a write made while nobody listened showed %.0f ms after connections were allowed" % (
        d * 1000))
    check(wait_for(lambda: st.pg.psql("SELECT count(*) " + listeners) == "2", 10),
          "the listeners did not come back")


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduled(st):
    a, b = st.a, st.b
    at = int(time.time()) + 3
    story = post(a, {"title": "Embargoed", "body": "x", "published_at": rfc3339(at)})
    for s in (a, b):
        eq(s.get("/articles/" + story["slug"])[0], 404)
        check(not front_has(s, story["slug"]), "public before its time")
    lags = []
    for s in (b, a):
        d = wait_for(lambda: front_has(s, story["slug"]) and
                     s.get("/articles/" + story["slug"])[0] == 200, 10)
        check(d is not None, "the scheduled story never went public on port %d" % s.port)
        lags.append(time.time() - at)
    print("# scheduled story public %.2f s (b) and %.2f s (a) after its time" % tuple(lags))
    check(max(lags) < 2.0, "went public %.2f s late" % max(lags))


def kill_one_under_load(st):
    post(st.a, SEED)
    paths = ["/articles/" + SEED_SLUG, "/", "/feed.xml", "/api/articles"]
    stop = threading.Event()
    results, lock = [], threading.Lock()

    def reader(k):
        i = 0
        while not stop.is_set():
            i += 1
            # a new query string each time: nginx's cache cannot answer, an instance must
            path = "%s?r=%d-%d" % (paths[i % len(paths)], k, i)
            try:
                status = st.nginx.get(path)[0]
            except Exception as e:
                status = repr(e)
            with lock:
                results.append(status)

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    before = len(results)
    served_by_a = st.a.access_log().count("?r=")
    check(served_by_a > 50, "instance a served %d reads before the kill" % served_by_a)
    b_before = st.b.access_log().count("?r=")
    st.a.kill(signal.SIGKILL)
    st.a.proc.wait()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join()
    failed = [r for r in results if r != 200]
    print("# kill -9 of one instance: %d reads through nginx (%d after the kill), %d failed" % (
        len(results), len(results) - before, len(failed)))
    eq(failed[:5], [], "failed reads")
    check(len(results) - before > 100, "too few reads after the kill")
    check(st.b.access_log().count("?r=") - b_before > 100, "b did not take the reads")
    # writes go on through the instance that lives
    st_, _, _ = st.nginx.request("POST", "/api/articles", {"title": "After the kill", "body": "x"},
                                 token=st.b.token)
    eq(st_, 201)


def concurrent_writes(st):
    made, lock = [], threading.Lock()
    n = 25

    def writer(s):
        for i in range(n):
            code, _, data = s.json("POST", "/api/articles", {"title": "Breaking news", "body": "x"},
                                   auth=True)
            with lock:
                made.append((code, data.get("slug")))

    threads = [threading.Thread(target=writer, args=(s,)) for s in (st.a, st.b) for _ in range(4)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - t0
    eq([c for c, _ in made if c != 201], [], "writes refused")
    slugs = [s for _, s in made]
    eq(len(set(slugs)), len(slugs), "a slug given twice")
    eq(st.pg.psql("SELECT count(*), count(DISTINCT slug) FROM articles", st.db), "%d|%d" % (
        8 * n, 8 * n))
    check("breaking-news" in slugs and "breaking-news-%d" % (8 * n) in slugs, sorted(slugs)[:5])
    print("# %d concurrent writes through both instances: %.0f acknowledged writes/s" % (
        len(made), len(made) / took))


def revocation_everywhere(st):
    """SPEC §11 across instances: an account and its token made on a work on b; revoked or
    disabled on b, it is refused on a at once (a's cache of checked tokens drops with the
    notification), and the audit of both is one log."""
    a, b = st.a, st.b
    st_, _, u = a.json("POST", "/api/users", {"handle": "ed", "name": "Ed", "role": "editor"},
                       auth=True)
    eq(st_, 201, u)
    st_, _, t = a.json("POST", "/api/users/ed/tokens", None, auth=True)
    eq(st_, 201, t)
    h = {"Authorization": "Bearer " + t["token"]}
    eq(b.json("GET", "/api/me", headers=h)[0], 200, "a token made on a, used on b")
    eq(a.json("GET", "/api/me", headers=h)[0], 200)  # now in a's cache
    eq(b.request("DELETE", "/api/tokens/%d" % t["id"], headers=h)[0], 403, "an editor's")
    eq(a.json("POST", "/api/users/ed/tokens", None, headers=h)[0], 403, "an editor's")
    # the bootstrap token is gone (an account has a token): make the admin from the command line
    r = a.run_cli("user", "add", "root", "--name", "Root", "--role", "admin", "-c", a.config_path)
    eq(r.returncode, 0, r.stderr)
    r = a.run_cli("token", "create", "root", "-c", a.config_path)
    eq(r.returncode, 0, r.stderr)
    admin = {"Authorization": "Bearer " + r.stdout.decode().strip()}
    eq(b.request("DELETE", "/api/tokens/%d" % t["id"], headers=admin)[0], 204)
    d = wait_for(lambda: a.get("/api/me", headers=h)[0] == 401, 5)
    check(d is not None, "a revoked token still worked on the other instance")
    print("# a token revoked on b refused on a after %.0f ms" % (d * 1000))
    st_, _, log = a.json("GET", "/api/audit", headers=admin)
    eq(st_, 200)
    actions = [e["action"] for e in log["entries"]]
    check({"user.create", "token.create", "token.revoke"} <= set(actions), actions)


def main():
    if not pg.bindir():
        pg.skip_or_fail("PostgreSQL binaries not found: skipped")
    run([
        ("a write on one instance is on the other's pages within 1 s", with_stack(propagation)),
        ("notifications lost while the listener was cut: the cache is dropped once back",
         with_stack(lost_notifications)),
        ("a scheduled story goes public on both at its time", with_stack(scheduled)),
        ("kill -9 of one instance under a read load: no read fails through nginx",
         with_stack(kill_one_under_load)),
        ("concurrent writes through both never give a slug twice", with_stack(concurrent_writes)),
        ("a token revoked on one instance is refused on the other", with_stack(revocation_everywhere)),
    ])


if __name__ == "__main__":
    main()
