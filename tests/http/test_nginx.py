"""test_nginx.py - deploy/: the real nginx with deploy/nginx.conf in front of the real server
(writes, pages, the API, its cache, 304s, files from disk, client addresses), and
deploy/gazette.service under systemd-analyze."""

import gzip
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from harness import SOURCE_ROOT, Server, check, eq, make_image, run
from nginx import NGINX, Nginx, free_port, ipv6_loopback, substitute
from seed import SEED, SEED_SLUG

BINARY = sys.argv[1]
SLOWHTTPTEST = "/usr/bin/slowhttptest"
SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
STRACE = "/usr/bin/strace"
DEPLOY = os.path.join(SOURCE_ROOT, "deploy")


def with_stack(fn, config=None):
    """Gazette (trust_proxy on, as the deploy files say) and nginx in front of it."""
    def test():
        cfg = {"server": {"trust_proxy": "true"}}
        for sec, keys in (config or {}).items():
            cfg.setdefault(sec, {}).update(keys)
        s = Server(BINARY, config=cfg)
        n = None
        try:
            s.start()
            n = Nginx(s.port, os.path.join(s.dir, "static"))
            n.start()
            fn(s, n)
            eq(n.stop(), 0, "nginx exit status")
            check("[emerg]" not in n.errors() and "[alert]" not in n.errors(), n.errors())
            if s.proc.poll() is None:
                eq(s.stop(), 0, "gazette exit status")
        finally:
            if n:
                n.cleanup()
            s.cleanup()
    return test


def publish_seed(s, n):
    """A write through the proxy: POST with the bearer token, to nginx."""
    st, h, b = n.request("POST", "/api/articles", SEED, token=s.token)
    eq(st, 201, b)
    eq(h["location"], "/api/articles/" + SEED_SLUG)
    eq(h["cache-control"], "no-store")
    return json.loads(b)


def media_from_disk(s, n):
    """A 3 MB upload through nginx (past its 1m limit for articles), and its renditions served
    by nginx from paths.media itself, immutable, without asking Gazette."""
    photo = make_image(BINARY, "photo", 2600, 1800, os.path.join(s.dir, "big.jpg"))
    check(len(photo) > 1 << 20, "the photo is larger than client_max_body_size 1m")
    st, h, b = n.request("POST", "/api/media?alt=Big", photo, token=s.token,
                         headers={"Content-Type": "image/jpeg"})
    eq(st, 201, b)
    m = json.loads(b)
    # (nginx passes a path with ../ in it on as it came: Gazette's own 404)
    eq(n.get("/media/%s/../../config.ini" % m["id"][:2])[0], 404)
    time.sleep(0.2)
    asked = s.access_log().count("/media/")
    for r in m["renditions"]:
        path = r["url"].replace("http://news.test", "")
        st, h, body = n.get(path)
        eq((st, len(body)), (200, r["bytes"]), path)
        eq(h["content-type"], r["type"])
        eq(h["cache-control"], "public, max-age=31536000, immutable")
    eq(n.get("/media/%s/.tmp-x" % m["id"][:2])[0], 404)
    time.sleep(0.2)
    eq(s.access_log().count("/media/"), asked, "nginx served /media/ itself: " +
       "".join(l for l in s.access_log().splitlines(True) if "/media/" in l))


def story_page(s, n):
    publish_seed(s, n)
    path = "/articles/" + SEED_SLUG
    st, h, b = n.get(path)
    eq(st, 200)
    html = b.decode()
    check("<h1>%s</h1>" % SEED["title"] in html, html[:300])
    check('<time datetime="2023-01-12T14:33:00+08:00">2023-01-12 14:33</time>' in html)
    check("Ye Lijiao" in html)
    eq(h["content-type"], "text/html; charset=utf-8")
    eq(h["cache-control"], "public, max-age=60", "nginx passes Gazette's Cache-Control on")
    check("default-src 'self'" in h["content-security-policy"])
    eq(h["x-cache-status"], "MISS")
    st, h2, b2 = n.get(path)
    eq((st, h2["x-cache-status"], b2), (200, "HIT", b), "the second read comes from the cache")
    eq(h2["etag"], h["etag"])
    # gzip: Gazette compresses, nginx keeps that variant apart from the plain one
    st, hz, z = n.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
    eq(hz.get("content-encoding"), "gzip")
    eq(gzip.decompress(z), b)
    st, hz2, z2 = n.get(path, headers={"Accept-Encoding": "gzip"})
    eq((hz2["x-cache-status"], z2), ("HIT", z), "one gzip copy for every spelling of the header")
    for ae in ("gzip;q=0, identity", "br", "deflate"):
        st, hp, p = n.get(path, headers={"Accept-Encoding": ae})
        check("content-encoding" not in hp, "%s: %r" % (ae, hp))
        eq((hp["x-cache-status"], p), ("HIT", b), "the plain copy for " + ae)
    # only the first request of each variant reached Gazette
    n.stop()
    s.stop()
    hits = [l for l in s.access_log().splitlines() if '"GET %s HTTP/1.1"' % path in l]
    eq(len(hits), 2, "Gazette saw one request per variant:\n" + "\n".join(hits))


def json_api(s, n):
    publish_seed(s, n)
    st, h, b = n.get("/api/articles")
    eq(st, 200)
    eq(h["content-type"], "application/json; charset=utf-8")
    data = json.loads(b)
    eq(data["total"], 1)
    eq(data["articles"][0]["slug"], SEED_SLUG)
    st, h, b = n.get("/api/articles/" + SEED_SLUG)
    eq(st, 200)
    a = json.loads(b)
    eq((a["title"], a["editor"], a["published_at"]),
       (SEED["title"], "Ye Lijiao", "2023-01-12T14:33:00+08:00"))
    eq(a["url"], "http://news.test/articles/" + SEED_SLUG)
    # a rename through the proxy, then the old and new addresses
    st, h, b = n.request("PUT", "/api/articles/" + SEED_SLUG, dict(SEED, slug="renamed"),
                         token=s.token)
    eq(st, 200, b)
    eq(n.get("/api/articles/renamed")[0], 200)
    st, _, b = n.request("DELETE", "/api/articles/renamed", token="wrong")
    eq(st, 401, b)
    eq(n.get("/api/articles/renamed")[0], 200, "a refused write changed nothing")


def drafts_stay_private(s, n):
    """A token holder's answer is never cached, and never served to anyone else."""
    publish_seed(s, n)
    st, _, b = n.request("POST", "/api/articles", {"title": "Secret draft", "body": "x",
                                                   "status": "draft"}, token=s.token)
    eq(st, 201, b)
    path = "/api/articles?status=all"
    for _ in range(2):
        st, h, b = n.get(path, token=s.token)
        eq(st, 200)
        check(b"Secret draft" in b)
        eq(h["x-cache-status"], "BYPASS")
    st, h, b = n.get(path)
    check(b"Secret draft" not in b, "a reader got the editor's cached answer")
    st, h, b = n.get("/api/articles/secret-draft")
    eq(st, 404)
    draft = "/api/articles/secret-draft?status=all"
    st, h, _ = n.get(draft, token=s.token)
    eq((st, h["x-cache-status"]), (200, "BYPASS"))
    st, _, b = n.get(draft)
    check(st in (401, 404) and b"Secret draft" not in b, "a reader got the draft: %d %r" % (st, b))


def request_ids_and_previews(s, n):
    """SPEC §11 through nginx: the audit entry of a write carries nginx's $request_id (a
    client's X-Request-Id is replaced), and a draft's signed preview is never cached."""
    st, _, b = n.request("POST", "/api/articles", {"title": "Through nginx", "body": "x",
                                                   "status": "draft"}, token=s.token,
                         headers={"X-Request-Id": "chosen-by-the-client"})
    eq(st, 201, b)
    st, _, b = s.json("GET", "/api/audit", auth=True)
    eq(st, 200, b)
    entry = [e for e in b["entries"] if e["object"] == "article/through-nginx"][0]
    check(re.fullmatch(r"[0-9a-f]{32}", entry["request_id"]), entry)
    st, _, p = s.json("POST", "/api/articles/through-nginx/preview", auth=True)
    eq(st, 201, p)
    path = p["url"][len("http://news.test"):]
    for _ in range(2):
        st, h, b = n.get(path)
        eq((st, h["cache-control"]), (200, "private, no-store"))
        check(h["x-cache-status"] in ("MISS", "BYPASS", "EXPIRED"), h["x-cache-status"])
    # the preview's page shows an edit at once: nothing in between kept it
    st, _, _ = n.request("PUT", "/api/articles/through-nginx", {"title": "Through nginx",
                         "body": "edited", "status": "draft"}, token=s.token)
    eq(st, 200)
    check(b"edited" in n.get(path)[2])


def revalidation(s, n):
    publish_seed(s, n)
    path = "/articles/" + SEED_SLUG
    st, h, b = n.get(path)
    eq(st, 200)
    etag = h["etag"]
    for _ in range(2):  # once from the cache's copy, once again
        st, h2, b2 = n.get(path, headers={"If-None-Match": etag})
        eq(st, 304, "If-None-Match through nginx")
        eq(b2, b"")
        eq(h2["etag"], etag)
    eq(n.get(path, headers={"If-None-Match": '"other"'})[0], 200)
    eq(n.get(path, headers={"If-Modified-Since": h["last-modified"]})[0], 304)
    # the JSON API too, on a cache miss (first request for this URL)
    st, h, _ = s.get("/api/articles/" + SEED_SLUG)
    eq(n.get("/api/articles/" + SEED_SLUG, headers={"If-None-Match": h["etag"]})[0], 304)


def cache_follows_gazette(s, n):
    """cache.max_age_s=1: nginx keeps a page one second, then revalidates it with Gazette (which
    answers 304), and serves its stale copy when Gazette is gone."""
    publish_seed(s, n)
    path = "/articles/" + SEED_SLUG
    st, h, b = n.get(path)
    eq((st, h["cache-control"], h["x-cache-status"]), (200, "public, max-age=1", "MISS"))
    eq(n.get(path)[1]["x-cache-status"], "HIT")
    # max-age=1 counts whole seconds: the copy expires within 2 s
    time.sleep(2.2)
    # the first reader after expiry gets the stale copy while nginx refreshes it
    st, h, b2 = n.get(path)
    eq((st, b2), (200, b))
    check(h["x-cache-status"] in ("STALE", "UPDATING", "REVALIDATED"), h["x-cache-status"])
    deadline = time.time() + 5
    while '"GET %s HTTP/1.1" 304 ' % path not in s.access_log() and time.time() < deadline:
        time.sleep(0.1)
    check('"GET %s HTTP/1.1" 304 ' % path in s.access_log(),
          "nginx revalidated with a conditional request:\n" + s.access_log())
    # Gazette stops: readers still get the page
    eq(s.stop(), 0)
    time.sleep(2.2)
    st, h, b3 = n.get(path)
    eq((st, b3), (200, b), "stale copy while Gazette is down")
    eq(h["x-cache-status"], "STALE")
    eq(n.get("/api/articles?never-cached")[0], 502)


def files_from_disk(s, n):
    static = os.path.join(s.dir, "static")
    with open(os.path.join(static, "style.css"), "rb") as f:
        css = f.read()
    st, h, b = n.get("/static/style.css")
    eq((st, b), (200, css))
    eq(h["content-type"], "text/css; charset=utf-8")
    eq(h["x-content-type-options"], "nosniff")
    check("expires" in h and "x-cache-status" not in h, "served by nginx, not proxied: %r" % h)
    check(re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', h["etag"]), "nginx's own ETag: " + h["etag"])
    st, hz, z = n.get("/static/style.css", headers={"Accept-Encoding": "gzip"})
    eq(hz.get("content-encoding"), "gzip")
    eq(gzip.decompress(z), css)
    eq(n.get("/static/style.css", headers={"If-None-Match": h["etag"]})[0], 304)
    # stop Gazette: files keep coming, pages do not
    eq(s.stop(), 0)
    for path, name, ctype in (("/static/style.css", "style.css", "text/css; charset=utf-8"),
                              ("/robots.txt", "robots.txt", "text/plain; charset=utf-8"),
                              ("/favicon.ico", "favicon.ico", "image/x-icon")):
        st, h, b = n.get(path)
        with open(os.path.join(static, name), "rb") as f:
            eq((st, b), (200, f.read()), path + " with Gazette stopped")
        eq(h["content-type"], ctype, path)
    eq(n.get("/healthz")[0], 502, "pages need Gazette")
    # and never anything outside the folder
    secret = os.path.join(s.dir, "secret.txt")
    with open(secret, "w") as f:
        f.write("top secret")
    with open(os.path.join(static, ".hidden"), "w") as f:
        f.write("hidden")
    # a symbolic link in static/ to a file outside, both root's (as in the deployment):
    # if_not_owner would follow it (audit finding 13)
    os.symlink(secret, os.path.join(static, "passwd.txt"))
    os.symlink("/etc/passwd", os.path.join(static, "etc.txt"))
    for path in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static..%2fsecret.txt",
                 "/static/.hidden", "/static/", "/static/nope.css", "/static/passwd.txt",
                 "/static/etc.txt"):
        raw = socket.create_connection(("127.0.0.1", n.port), timeout=5)
        raw.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = b""
        while True:
            chunk = raw.recv(65536)
            if not chunk:
                break
            out += chunk
        raw.close()
        status = int(out.split(b" ", 2)[1])
        check(status in (400, 403, 404, 502), "%s gave %r" % (path, out[:60]))
        body = out.split(b"\r\n\r\n", 1)[1]
        check(b"top secret" not in body and b"hidden" not in body and b"root:" not in body, path)


def body_limit(s, n):
    big = {"title": "Big", "body": "x" * (1024 * 1024 + 10)}
    st, h, b = n.request("POST", "/api/articles", big, token=s.token)
    eq(st, 413, "nginx refuses a body over client_max_body_size")
    check("Big" not in s.access_log(), "the body never reached Gazette")
    st, h, b = n.request("POST", "/api/articles", {"title": "Fits", "body": "y" * 500000},
                         token=s.token)
    eq(st, 201, b)


def admin_pages(s, n):
    """SPEC §14: /admin/ passes nginx uncached, and the login form is limited per address."""
    for i in range(3):
        st, h, b = n.get("/admin/login")
        eq(st, 200, "the login page through nginx")
        eq(h.get("cache-control"), "private, no-store")
        check(h.get("x-cache-status") in (None, "BYPASS"), "never from nginx's cache: %r" % h)
        check("gz_form=" in h.get("set-cookie", ""), "each reader their own form cookie")
    statuses = []
    for i in range(12):
        st, h, b = n.request("POST", "/admin/login", b"handle=x&password=y&csrf=z",
                             headers={"Content-Type": "application/x-www-form-urlencoded"},
                             source="127.0.0.9")
        statuses.append(st)
    check(statuses[:6] == [403] * 6, "the first six reach Gazette: %r" % statuses)
    check(429 in statuses[6:], "nginx's limit_req past the burst: %r" % statuses)
    eq(n.request("POST", "/admin/login", b"handle=x", source="127.0.0.10",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})[0], 403,
       "another address is not limited")


def metrics_stay_inside(s, n):
    """SPEC §16: nginx never forwards /metrics, however it is spelled; Gazette never sees it."""
    for path in ("/metrics", "/metrics?format=prometheus", "//metrics", "/%6Detrics"):
        st, h, b = n.get(path)
        eq(st, 404, path)
        check("x-cache-status" not in h, "answered by nginx itself, not proxied: %r" % h)
    eq(n.get("/healthz")[0], 200)
    n.stop()
    s.stop()
    check("etrics" not in s.access_log(), "a /metrics request reached Gazette:\n" + s.access_log())


def client_address(s, n):
    """Gazette logs the address nginx saw, not one the client made up, and not nginx's own.
    The client connects from 127.0.0.2 and nginx to Gazette from 127.0.0.1, so they differ."""
    st, _, _ = n.get("/healthz?probe=proxied", headers={"X-Forwarded-For": "203.0.113.7"},
                     source="127.0.0.2")
    eq(st, 200)
    st, _, _ = n.get("/healthz?probe=plain", source="127.0.0.2")
    eq(st, 200)
    direct = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10,
                                        source_address=("127.0.0.3", 0))
    direct.request("GET", "/healthz?probe=direct")
    eq(direct.getresponse().status, 200)
    direct.close()
    n.stop()
    s.stop()
    log = s.access_log().splitlines()

    def line(probe):
        found = [l for l in log if "probe=%s " % probe in l]
        eq(len(found), 1, "access log lines for %s:\n%s" % (probe, "\n".join(log)))
        return found[0]

    for probe in ("proxied", "plain"):
        check(line(probe).startswith("127.0.0.2 - - ["), line(probe))
    check("203.0.113.7" not in "\n".join(log), "the spoofed hop was believed")
    check(line("direct").startswith("127.0.0.3 - - ["), "direct, no header: " + line("direct"))


def cache_key_injective(s, n):
    """Audit finding 1: the cache key had no separators, so "/gzip" asked plain and "/" asked
    with gzip were one key, and one request made the 404 page everybody's front page."""
    publish_seed(s, n)
    gz = {"Accept-Encoding": "gzip"}
    # two cacheable answers whose old keys were equal
    st, h, b = n.get("/?x=gzip")
    eq(st, 200)
    check("content-encoding" not in h)
    st, h, z = n.get("/?x=", headers=gz)
    eq((st, h.get("content-encoding"), h["x-cache-status"]), (200, "gzip", "MISS"),
       "a gzip request got another request's cached answer")
    check(SEED["title"].encode() in gzip.decompress(z))
    # the attack itself, for the front page, the feed and a tag page
    for junk, page in (("/gzip", "/"), ("/feed.xmlgzip", "/feed.xml"),
                       ("/tags/fruitgzip", "/tags/fruit")):
        for _ in range(2):
            st, h, _ = n.get(junk)
            eq((st, h["cache-control"]), (404, "no-store"), junk)
            eq(h["x-cache-status"], "MISS", junk + ": an error page is never kept")
        st, h, z = n.get(page, headers=gz)
        if page == "/tags/fruit":
            eq(st, 404, page)
            continue
        eq((st, h.get("content-encoding")), (200, "gzip"), page)
        body = gzip.decompress(z)
        check(SEED["title"].encode() in body and b"Page not found" not in body, page)
    # errors from Gazette are never kept, whatever their status
    for path, want in (("/api/articles?per_page=0", 400), ("/search?q=%ff", 400),
                       ("/api/articles/nope", 404)):
        for _ in range(2):
            st, h, _ = n.get(path)
            eq((st, h["x-cache-status"], h["cache-control"]), (want, "MISS", "no-store"), path)


def free_source(n):
    """A second client address for probes: limits are per address."""
    return "127.0.0.2"


def slowloris(s, n):
    """Audit finding 6: slowhttptest -H -c 400 made nginx refuse every probe. Now a header
    must arrive within client_header_timeout (10 s) and other clients stay served."""
    check(os.path.exists(SLOWHTTPTEST), "%s is missing: scripts/test installs slowhttptest"
          % SLOWHTTPTEST)
    tool = subprocess.Popen([SLOWHTTPTEST, "-H", "-c", "400", "-r", "200", "-i", "3", "-l", "25",
                             "-x", "24", "-p", "3", "-u", "http://127.0.0.1:%d/" % n.port],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    closed_after = []

    def dribble():
        k = socket.create_connection(("127.0.0.1", n.port), timeout=30)
        k.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        start = time.time()
        try:
            while time.time() - start < 25:
                k.sendall(b"X-Slow: yes\r\n")
                k.settimeout(2)
                try:
                    data = k.recv(4096)
                    if not data or data.startswith(b"HTTP/1.1 408"):
                        break
                except socket.timeout:
                    pass
        except (BrokenPipeError, ConnectionResetError):
            pass
        closed_after.append(time.time() - start)
        k.close()

    try:
        t = threading.Thread(target=dribble)
        t.start()
        time.sleep(2)
        probes = []
        deadline = time.time() + 12
        while time.time() < deadline:
            try:
                probes.append(n.get("/healthz", source=free_source(n))[0])
            except OSError as e:
                probes.append(repr(e))
            time.sleep(0.5)
        t.join(30)
        eq(set(probes), {200}, "probes from another address during 400 slow headers")
        check(closed_after and closed_after[0] < 15,
              "a header sent a line every 2 s was still open after %r s" % closed_after)
        print("# slowloris (slowhttptest -H -c 400): %d probes all 200; a slow header was cut "
              "after %.1f s" % (len(probes), closed_after[0]))
    finally:
        if tool.poll() is None:
            os.killpg(tool.pid, signal.SIGKILL)
        tool.wait()


def per_address_limits(s, n):
    """Audit finding 6: at most 128 connections per address (slow bodies included: nginx has
    their headers), and writes to the API are rate-limited; reads and other clients are not."""
    held = []
    try:
        for _ in range(170):
            k = socket.create_connection(("127.0.0.1", n.port), timeout=5)
            k.sendall(b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/json\r\nContent-Length: 100000\r\n\r\n{")
            held.append(k)
        time.sleep(1)
        refused = 0
        for k in held:
            ready, _, _ = select.select([k], [], [], 0)
            if ready:
                data = k.recv(4096)
                refused += data.startswith(b"HTTP/1.1 429")
        check(refused >= 170 - 128, "%d of 170 slow bodies from one address refused" % refused)
        eq(n.get("/healthz", source=free_source(n))[0], 200, "another address is served")
    finally:
        for k in held:
            k.close()
    time.sleep(0.5)
    # writes: 10 a second with bursts of 20; reads are not counted
    statuses = [n.request("POST", "/api/articles", {"title": "x", "body": "y"})[0]
                for _ in range(40)]
    check(statuses.count(429) >= 10 and 401 in statuses, statuses)
    reads = [n.get("/api/articles?n=%d" % i)[0] for i in range(60)]
    eq(set(reads), {200}, "reads are not rate-limited")
    eq(n.request("POST", "/api/articles", {"title": "x", "body": "y"},
                 source=free_source(n))[0], 401, "another address writes (and is refused by "
       "Gazette, for want of a token)")


def unit_keys():
    """deploy/gazette.service as systemd reads it: [Section] key=value, repeatable keys."""
    keys = {}
    section = None
    with open(os.path.join(DEPLOY, "gazette.service")) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            k, _, v = line.partition("=")
            keys.setdefault((section, k.strip()), []).append(v.strip())
    return keys


def systemd_unit():
    keys = unit_keys()
    want = {
        ("Service", "User"): "gazette",
        ("Service", "StateDirectory"): "gazette",
        ("Service", "LogsDirectory"): "gazette",
        ("Service", "ReadWritePaths"): "/srv/gazette/media",
        ("Service", "ProtectSystem"): "strict",
        ("Service", "ProtectHome"): "yes",
        ("Service", "NoNewPrivileges"): "yes",
        ("Service", "PrivateTmp"): "yes",
        ("Service", "PrivateDevices"): "yes",
        ("Service", "RestrictAddressFamilies"): "AF_INET AF_INET6 AF_UNIX",
        ("Service", "SystemCallFilter"): "@system-service",
        ("Service", "CapabilityBoundingSet"): "",
        ("Service", "ExecReload"): "/bin/kill -HUP $MAINPID",
        ("Service", "KillSignal"): "SIGTERM",
        ("Service", "Restart"): "on-failure",
        ("Install", "WantedBy"): "multi-user.target",
    }
    for key, value in want.items():
        check(value in keys.get(key, []), "%s.%s=%s missing from gazette.service: %r"
              % (key[0], key[1], value, keys.get(key)))
    env = " ".join(keys.get(("Service", "Environment"), []))
    m = re.search(r"GAZETTE_CONFIG=(\S+?)\"?(\s|$)", env)
    check(m, "Environment=GAZETTE_CONFIG=... missing: " + env)
    exec_start = keys[("Service", "ExecStart")][0].split()
    check(exec_start[0].endswith("/gazette") and "serve" in exec_start, exec_start)

    if not os.path.exists(SYSTEMD_ANALYZE):
        print("# %s is not installed: the unit's keys were checked, not systemd's reading"
              % SYSTEMD_ANALYZE)
        return
    # verify and security read the unit as systemd would; the example binary path is replaced
    # with the built one because verify checks that ExecStart is executable.
    tmp = tempfile.mkdtemp(prefix="gazette-unit-")
    try:
        with open(os.path.join(DEPLOY, "gazette.service")) as f:
            unit = f.read()
        unit = substitute(unit, exec_start[0], os.path.abspath(BINARY))
        path = os.path.join(tmp, "gazette.service")
        with open(path, "w") as f:
            f.write(unit)
        r = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", path], capture_output=True,
                           text=True)
        # Outside a booted systemd (containers, CI) verify also prints complaints about the
        # host's own units; only lines about this unit count.
        ours = [l for l in (r.stdout + r.stderr).splitlines() if "gazette.service" in l]
        eq(ours, [], "systemd-analyze verify")
        r = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes", "--no-pager", path],
                           capture_output=True, text=True)
        m = re.search(r"Overall exposure level for gazette.service: (\d+\.\d+)", r.stdout)
        check(m, "systemd-analyze security: " + r.stdout[-2000:] + r.stderr)
        check(float(m.group(1)) <= 2.0, "exposure %s > 2.0 (OK): %s" % (m.group(1), r.stdout))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def syscall_set(name, seen=None):
    """The system calls of a systemd set such as @system-service, nested sets expanded."""
    out = subprocess.run([SYSTEMD_ANALYZE, "syscall-filter", "--no-pager", name],
                         capture_output=True, text=True, check=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        calls |= syscall_set(line) if line.startswith("@") else {line}
    return calls


def syscall_filter():
    """Every system call Gazette makes, from start to a clean exit, is one the unit allows:
    a call outside SystemCallFilter would fail with EPERM in production only."""
    keys = unit_keys()
    if not os.path.exists(SYSTEMD_ANALYZE):
        print("# %s is not installed: the system call sets cannot be read" % SYSTEMD_ANALYZE)
        return
    check(os.path.exists(STRACE), "%s is missing: scripts/test installs the strace package "
          "(TEST_PACKAGES in scripts/deps.sh)" % STRACE)
    # in the unit's order, as systemd reads them: a later line adds to or takes from the list
    allowed, denied = set(), set()
    for value in keys[("Service", "SystemCallFilter")]:
        for name in value.lstrip("~").split():
            calls = syscall_set(name) if name.startswith("@") else {name}
            if value.startswith("~"):
                denied |= calls
                allowed -= calls
            else:
                allowed |= calls
                denied -= calls
    # LeakSanitizer cannot run under ptrace; the other tests check leaks
    s = Server(BINARY, env={"ASAN_OPTIONS": "detect_leaks=0"})
    trace = os.path.join(s.dir, "strace.txt")
    tracer = gazette = None
    try:
        s.stderr_file = open(s.stderr_path, "w+")
        tracer = subprocess.Popen([STRACE, "-f", "-qq", "-o", trace, s.binary, "serve", "-c",
                                   s.config_path], stdout=subprocess.DEVNULL,
                                  stderr=s.stderr_file, cwd=s.dir, env=s.env)
        deadline = time.time() + 20
        while s.port is None:
            check(time.time() < deadline and tracer.poll() is None, "no start: " + s.stderr())
            m = re.search(r"^listening on .*:(\d+)$", s.stderr(), re.M)
            if m:
                s.port = int(m.group(1))
            time.sleep(0.05)
        with open("/proc/%d/task/%d/children" % (tracer.pid, tracer.pid)) as f:
            gazette = int(f.read().split()[0])
        # what a day of service does: writes, every kind of page, errors, a reload
        eq(s.json("POST", "/api/articles", SEED, auth=True)[0], 201)
        eq(s.json("PUT", "/api/articles/" + SEED_SLUG, SEED, auth=True)[0], 200)
        eq(s.json("POST", "/api/articles", {"title": "Gone", "body": "x"}, auth=True)[0], 201)
        eq(s.request("DELETE", "/api/articles/gone", auth=True)[0], 204)
        # an image: the upload's file, the worker, libvips's threads, fsync and rename
        photo = make_image(BINARY, "photo", 700, 500, os.path.join(s.dir, "p.jpg"))
        st, _, m = s.json("POST", "/api/media?alt=x", photo, auth=True,
                          headers={"Content-Type": "image/jpeg"})
        eq(st, 201, m)
        eq(s.request("DELETE", "/api/articles/gone", headers={"Authorization": "Bearer x"})[0],
           401)
        for path in ("/", "/articles/" + SEED_SLUG, "/feed.xml", "/sitemap.xml",
                     "/news-sitemap.xml", "/search?q=jilin", "/api/articles",
                     "/api/articles/" + SEED_SLUG, "/static/style.css", "/robots.txt",
                     "/favicon.ico", "/healthz", "/nope", "/tags/x"):
            st, h, _ = s.get(path, headers={"Accept-Encoding": "gzip"})
            check(st in (200, 404), path)
            if "etag" in h:
                eq(s.get(path, headers={"If-None-Match": h["etag"]})[0], 304, path)
        raw = s.raw(b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                    b"\r\nAuthorization: Bearer test-token\r\nContent-Length: 100000000\r\n\r\n")
        check(raw.startswith(b"HTTP/1.1 413"), raw[:100])
        os.kill(gazette, signal.SIGHUP)
        time.sleep(0.5)
        eq(s.get("/")[0], 200)
        os.kill(gazette, signal.SIGTERM)
        eq(tracer.wait(20), 0, "exit status under strace; stderr:\n" + s.stderr()[-3000:])
        used = set()
        with open(trace) as f:
            for line in f:
                m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
                if m and m.group(1) not in ("exited", "killed"):
                    used.add(m.group(1))
        check(len(used) > 20, "strace saw %r" % sorted(used))
        # execve is strace starting the program, before systemd's filter would apply anyway
        used.discard("execve")
        # SQLite hands its journal files to the database's owner when it runs as root only,
        # which the service's own user never is: there fchown is not called.
        if os.geteuid() == 0:
            used.discard("fchown")
        eq(sorted(used - allowed), [], "calls outside SystemCallFilter=@system-service")
        eq(sorted(used & denied), [], "calls the unit denies (SystemCallFilter=~...)")
    finally:
        # a killed strace would leave Gazette running: stop Gazette by its own PID first
        if tracer and tracer.poll() is None:
            if gazette is None:
                try:
                    with open("/proc/%d/task/%d/children" % (tracer.pid, tracer.pid)) as f:
                        gazette = int(f.read().split()[0])
                except (OSError, IndexError, ValueError):
                    pass
            if gazette:
                try:
                    os.kill(gazette, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                tracer.wait(10)
            except subprocess.TimeoutExpired:
                tracer.kill()
                tracer.wait()
        s.proc = None
        s.stderr_file.close()
        s.cleanup()


def config_in_state_directory():
    """The config the unit points at keeps the database under StateDirectory and starts."""
    keys = unit_keys()
    env = " ".join(keys[("Service", "Environment")])
    config_path = re.search(r"GAZETTE_CONFIG=([^\s\"]+)", env).group(1)
    state = "/var/lib/" + keys[("Service", "StateDirectory")][0]
    logs = "/var/log/" + keys[("Service", "LogsDirectory")][0]
    example = os.path.join(DEPLOY, os.path.basename(config_path))
    check(os.path.exists(example), "deploy/%s: the config the unit names" %
          os.path.basename(config_path))
    with open(example) as f:
        text = f.read()
    m = re.search(r"^database\s*=\s*(\S+)", text, re.M)
    check(m and m.group(1).startswith(state + "/"), "paths.database under %s: %r" % (state, m))
    m = re.search(r"^access_log\s*=\s*(\S+)", text, re.M)
    check(m and m.group(1).startswith(logs + "/"), "log.access_log under %s: %r" % (logs, m))
    check(re.search(r"^trust_proxy\s*=\s*true", text, re.M), "trust_proxy = true")
    check(re.search(r"^listen\s*=\s*127\.0\.0\.1", text, re.M), "listen on loopback")
    # the same file with this box's folders in place of the example ones must start
    tmp = tempfile.mkdtemp(prefix="gazette-unit-")
    try:
        text = text.replace(state, tmp).replace(logs, tmp)
        for name in ("templates", "static"):
            text = re.sub(r"^(%s\s*=\s*).*$" % name, r"\g<1>" + os.path.join(SOURCE_ROOT, name),
                          text, flags=re.M)
        text = re.sub(r"^port\s*=.*$", "port = 0", text, flags=re.M)
        text = re.sub(r"^token_file\s*=.*$", "token_file =", text, flags=re.M)
        cfg = os.path.join(tmp, "gazette.ini")
        with open(cfg, "w") as f:
            f.write(text)
        s = Server(BINARY, copy_site=False, workdir=tmp)
        s.config_path = cfg  # instead of the harness's own config.ini beside it
        s.start()
        try:
            eq(s.get("/healthz")[0], 200)
            eq(s.stop(), 0)
            check(os.path.exists(re.search(r"^database\s*=\s*(\S+)", text, re.M).group(1)),
                  "database created in the state folder")
            with open(re.search(r"^access_log\s*=\s*(\S+)", text, re.M).group(1)) as f:
                check('"GET /healthz HTTP/1.1" 200 ' in f.read(), "the access log in its folder")
        finally:
            s.cleanup()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


run([
    ("a write through nginx, then the story page from its cache", with_stack(story_page)),
    ("the JSON API through nginx", with_stack(json_api)),
    ("a token holder's answers are never cached", with_stack(drafts_stay_private)),
    ("304 through nginx", with_stack(revalidation)),
    ("request ids in the audit log, previews never cached", with_stack(request_ids_and_previews)),
    ("nginx follows Gazette's max-age, revalidates, serves stale when Gazette is down",
     with_stack(cache_follows_gazette, config={"cache": {"max_age_s": "1"}})),
    ("static files come from disk, with Gazette stopped too", with_stack(files_from_disk)),
    ("images: uploads up to media.max_bytes, renditions from disk", with_stack(media_from_disk)),
    ("1 the cache key is injective; no error page is kept", with_stack(cache_key_injective)),
    ("6 slow headers are cut, other clients served", with_stack(slowloris)),
    ("6 limits per address: connections, API writes", with_stack(per_address_limits)),
    ("client_max_body_size", with_stack(body_limit)),
    ("/admin/ uncached, its login form limited", with_stack(admin_pages)),
    ("the client's address in Gazette's access log", with_stack(client_address)),
    ("nginx never forwards /metrics", with_stack(metrics_stay_inside)),
    ("deploy/gazette.service passes systemd-analyze", systemd_unit),
    ("the unit's SystemCallFilter allows every call Gazette makes", syscall_filter),
    ("deploy/gazette.ini starts, database in the StateDirectory", config_in_state_directory),
])
