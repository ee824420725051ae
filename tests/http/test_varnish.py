"""test_varnish.py - SPEC §13 with Debian's real varnishd running deploy/varnish.vcl in a
temporary folder: a page is a HIT, a story in it is edited through the API, and within a second
Varnish serves the new version while unrelated pages stay HITs; a scheduled story shows through
Varnish at its time; a BAN with a bad key or from elsewhere changes nothing."""

import datetime
import os
import statistics
import sys
import time

from harness import Server, check, eq, post, run
from nginx import free_port
from varnish import Varnish

BINARY = os.path.abspath(sys.argv[1])
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
    vport, purge_port = free_port(), free_port()
    s = Server(BINARY, config={"purge": {"url": "http://127.0.0.1:%d/" % purge_port},
                               "cache": {"max_age_s": "600"}})
    v = None
    try:
        s.start()
        v = Varnish(vport, s.port, purge_port)
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
        at = int(time.time()) + 6
        post(s, {"title": "Embargo lifts", "body": "x", "published_at": iso(at)})
        time.sleep(2.5)  # the write's own purges are done; the front page is cached again
        warm(v, ["/"])
        page = v.get("/")[2]
        check(time.time() >= at or b"Embargo lifts" not in page, "not before its time")
        while b"Embargo lifts" not in v.get("/")[2]:
            check(time.time() < at + 5, "the scheduled story never showed through Varnish")
            time.sleep(0.02)
        shown = time.time() - at
        check(shown >= 0, "shown before its time")
        print("# scheduled story through Varnish: %.2f s after its time" % shown)
        eq(hit(v, "/articles/farm-prices"), "HIT")

        # only on the purge listener (a reader's BAN, even from loopback behind a local
        # proxy, is refused), and only words for keys
        st, _, _ = v.request("BAN", "/", headers={"Surrogate-Key": "front"})
        eq(st, 403, "a BAN on the readers' listener")
        for bad in ("front|.*", "front  feed", "", ".*"):
            st, _, _ = v.request("BAN", "/", headers={"Surrogate-Key": bad}, port=purge_port)
            eq(st, 400, "BAN %r" % bad)
        eq(hit(v, "/articles/farm-prices"), "HIT", "a refused BAN banned nothing")
        eq(hit(v, "/"), "HIT", "the readers' BAN banned nothing")
        st, _, _ = v.request("BAN", "/", headers={"Surrogate-Key": "tag-farm"}, port=purge_port)
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
