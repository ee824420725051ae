"""test_varnish.py - SPEC §13 with Debian's real varnishd running deploy/varnish.vcl in a
temporary folder: a page is a HIT, a story in it is edited through the API, and within a second
Varnish serves the new version while unrelated pages stay HITs; a scheduled story shows through
Varnish at its time; a BAN with a bad key or from elsewhere changes nothing."""

import datetime
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from harness import SOURCE_ROOT, Server, check, eq, post, run
from nginx import die_with_parent, free_port

BINARY = os.path.abspath(sys.argv[1])
VARNISHD = "/usr/sbin/varnishd"


class Varnish:
    """varnishd in the foreground with deploy/varnish.vcl, its working folder temporary."""

    def __init__(self, port, backend_port):
        check(os.path.exists(VARNISHD), "%s is missing: scripts/test installs the varnish "
              "package (TEST_PACKAGES in scripts/deps.sh)" % VARNISHD)
        self.dir = tempfile.mkdtemp(prefix="gazette-varnish-")
        self.port = port
        with open(os.path.join(SOURCE_ROOT, "deploy", "varnish.vcl")) as f:
            vcl = f.read()
        check('.port = "8080";' in vcl, "deploy/varnish.vcl no longer names port 8080")
        vcl = vcl.replace('.port = "8080";', '.port = "%d";' % backend_port)
        self.vcl = os.path.join(self.dir, "gazette.vcl")
        with open(self.vcl, "w") as f:
            f.write(vcl)
        self.log = open(os.path.join(self.dir, "varnishd.log"), "w+")
        self.proc = subprocess.Popen(
            [VARNISHD, "-F", "-j", "none", "-n", os.path.join(self.dir, "work"),
             "-a", "127.0.0.1:%d" % port, "-T", "127.0.0.1:0", "-f", self.vcl,
             "-s", "malloc,64m"],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        deadline = time.time() + 30
        while time.time() < deadline:
            check(self.proc.poll() is None, "varnishd exited: " + self.output())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("varnishd did not listen: " + self.output())

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def request(self, method, path, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        h = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, h, body

    def get(self, path):
        return self.request("GET", path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def hit(v, path):
    st, h, _ = v.get(path)
    eq(st, 200, path)
    return h.get("x-cache")


def warm(v, paths):
    for p in paths:
        v.get(p)
        eq(hit(v, p), "HIT", "%s cached" % p)


def purge_to_fresh():
    vport = free_port()
    s = Server(BINARY, config={"purge": {"url": "http://127.0.0.1:%d/" % vport},
                               "cache": {"max_age_s": "600"}})
    v = None
    try:
        s.start()
        v = Varnish(vport, s.port)
        a = post(s, {"title": "Harbour opens", "body": "Ships.", "tags": ["port"]})
        post(s, {"title": "Farm prices", "body": "Wheat.", "tags": ["farm"]})
        time.sleep(3)  # the creations' purges (and their second ones) are done
        pages = ["/", "/articles/harbour-opens", "/articles/farm-prices", "/tags/port",
                 "/tags/farm", "/feed.xml", "/static/style.css"]
        warm(v, pages)
        st, h, _ = v.get("/articles/harbour-opens")
        check("surrogate-key" not in h, "the keys stay inside the cache")

        delays = []
        for i in range(10):
            title = "Harbour opens, update %d" % i
            t0 = time.time()
            st, _, _ = s.json("PUT", "/api/articles/harbour-opens",
                              {"title": title, "body": "Ships.", "tags": ["port"]}, auth=True)
            eq(st, 200)
            while title.encode() not in v.get("/articles/harbour-opens")[2]:
                check(time.time() - t0 < 5, "the edit never showed through Varnish")
                time.sleep(0.005)
            delays.append(time.time() - t0)
            check(title.encode() in v.get("/")[2], "the front page is fresh too")
            check(title.encode() in v.get("/tags/port")[2], "its tag page is fresh too")
            # unrelated pages were never dropped, the second purge included
            for p in ("/articles/farm-prices", "/tags/farm", "/static/style.css"):
                eq(hit(v, p), "HIT", "%s after edit %d" % (p, i))
        time.sleep(2.5)
        for p in ("/articles/farm-prices", "/tags/farm", "/static/style.css"):
            eq(hit(v, p), "HIT", "%s after the second purges" % p)
        check(max(delays) < 1.0, "within 1 s: %r" % delays)
        print("# purge-to-fresh through Varnish: median %.1f ms, max %.1f ms (%d edits)" %
              (statistics.median(delays) * 1000, max(delays) * 1000, len(delays)))

        # a scheduled story: on the cached front page within a moment of its time
        at = int(time.time()) + 3
        post(s, {"title": "Embargo lifts", "body": "x", "published_at": iso(at)})
        time.sleep(2.5)  # the write's own purges are done; the front page is cached again
        warm(v, ["/"])
        check(b"Embargo lifts" not in v.get("/")[2], "not before its time")
        while b"Embargo lifts" not in v.get("/")[2]:
            check(time.time() < at + 4, "the scheduled story never showed through Varnish")
            time.sleep(0.02)
        shown = time.time() - at
        check(shown >= 0, "shown before its time")
        print("# scheduled story through Varnish: %.2f s after its time" % shown)
        eq(hit(v, "/articles/farm-prices"), "HIT")

        # only words for keys, and only from Gazette's hosts (here: loopback, allowed)
        for bad in ("front|.*", "front  feed", "", ".*"):
            st, _, _ = v.request("BAN", "/", headers={"Surrogate-Key": bad})
            eq(st, 400, "BAN %r" % bad)
        eq(hit(v, "/articles/farm-prices"), "HIT", "a refused BAN banned nothing")
        st, _, _ = v.request("BAN", "/", headers={"Surrogate-Key": "tag-farm"})
        eq(st, 200)
        eq(hit(v, "/tags/farm"), "MISS", "a BAN of its key drops it")
        eq(hit(v, "/articles/farm-prices"), "HIT", "and nothing else")
        eq(s.stop(), 0)
    finally:
        if v:
            v.stop()
        s.cleanup()


tests = [("purge through a real Varnish", purge_to_fresh)]

if __name__ == "__main__":
    run(tests)
