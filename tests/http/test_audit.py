"""test_audit.py - each finding of the outside audit (issue "Hardening") reproduced against the
real binary, numbered as the issue numbers them; the nginx findings (1, 6, 13) are in
test_nginx.py, the formatting one (15) is the lint suite. Every test here failed on the build
the audit looked at (0aaec21) and passes now.

| #  | finding                                    | what is checked here                          |
|----|--------------------------------------------|-----------------------------------------------|
| 2  | cache keys collide through %1E, %1F; keys  | ?tag=%1E, ?q=%1E, %1F in values do not reach  |
|    | for parameters a route does not read       | another key; ?q=N on a story adds no entries  |
| 3  | cache memory unbounded, dropped at once    | a 30,000-URL flood under cache.max_bytes: the |
|    |                                            | hot page stays cached, RSS stays bounded      |
| 4  | expensive reads unbounded                  | 8 words (page names the rest, API 400), a     |
|    |                                            | query over its budget answers 503             |
| 5  | slow bodies hold connections               | 401 from the header, body rate, header time,  |
|    |                                            | slowhttptest -B leaves the server available   |
| 7  | a Latin-1 config string kills the server   | refused at start with exit 2 and file:line    |
| 8  | /healthz counts embargoed stories          | public only (the 404 sameness: test_pages)    |
| 9  | a FIFO in static/ blocks a thread; copies  | FIFO 404 at once; a 20 MiB file served whole  |
| 10 | Last-Modified from the clock               | stable across seconds and restarts; moves     |
|    |                                            | when a scheduled story goes public            |
| 11 | framing leniency                           | TE identity 501, BWS/obs-fold 400, no Host    |
|    |                                            | 400, 500 arguments 414 with a body            |
| 12 | rate limiter slots, no /64, counts 401s    | no-credential 401s uncounted, /64 grouped,    |
|    |                                            | 300 clients each held at their tenth guess    |
| 14 | CSP, descriptions, landmarks, empty news   | the CSP of SPEC §5, meta descriptions,        |
|    | sitemap                                    | noindex, labelled landmarks, a valid urlset   |
| 21 | Vary lost on uncached plain answers        | every public route, both encodings: the same  |
|    |                                            | Vary, ETag shape, Cache-Control, type         |
"""

import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

from harness import Server, check, eq, exchange, instrumented, post, run, server_test
from seed import SEED, SEED_SLUG

BINARY = sys.argv[1]
SLOW = 4 if os.environ.get("GAZETTE_VALGRIND") == "1" else 1
SLOWHTTPTEST = "/usr/bin/slowhttptest"


def with_server(fn, **kw):
    return server_test(BINARY, fn, **kw)



def cache_log(s):
    """The server's account of its cache at stop: hits, misses, stored, evicted."""
    m = re.search(r"cache: (\d+) hits, (\d+) misses, (\d+) stored, (\d+) evicted; (\d+) entries, "
                  r"(\d+) of (\d+) bytes", s.stderr())
    check(m, "no cache line in the log:\n" + s.stderr()[-2000:])
    keys = ("hits", "misses", "stored", "evicted", "entries", "bytes", "max_bytes")
    return dict(zip(keys, (int(g) for g in m.groups())))


def get_line(path, extra=b""):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n"


def send(s, data, timeout=5.0):
    """One request on a new connection (harness.exchange): (bytes back, closed, seconds)."""
    res = exchange(s, data, grace=1.0, timeout=timeout)
    return res.raw, res.closed, res.seconds


def status_of(raw):
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.") else None


def body_of(raw):
    return raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in raw else b""


# --- 2: cache keys ---

def cache_keys(s):
    post(s, {"title": "World one", "body": "x", "tags": ["world"]})
    # a value holding the old key's separators must not answer for the plain request
    for poison, plain in (("/api/articles?tag=%1E", "/api/articles"),
                          ("/api/articles?tag=world&q=%1E", "/api/articles?tag=world"),
                          ("/api/articles?q=%1F%1E", "/api/articles"),
                          ("/api/articles?per_page=5%1F%1E", "/api/articles?per_page=5"),
                          ("/?page=1%1F", "/")):
        s.get(poison)
        st, _, b = s.get(plain)
        eq(st, 200, plain)
        if plain.startswith("/api/"):
            eq(json.loads(b)["total"], 1, "%s after %s" % (plain, poison))
        else:
            check(b"World one" in b, "%s after %s" % (plain, poison))
    s.stop()
    before = cache_log(s)
    s.start()
    # parameters a route does not read make no entries and change nothing
    st, _, story = s.get("/api/articles/world-one")
    eq(st, 200)
    for n in range(50):
        st, _, b = s.get("/api/articles/world-one?q=%d&utm_source=x%d" % (n, n))
        eq((st, b), (200, story))
    st, _, page = s.get("/articles/world-one")
    for n in range(20):
        eq(s.get("/articles/world-one?page=%d" % n)[2], page)
    # a public answer is the same for anyone: an Authorization header does not skip the cache
    for token in ("junk", "test-token"):
        for _ in range(5):
            eq(s.get("/articles/world-one", headers={"Authorization": "Bearer " + token})[2],
               page)
    s.stop()
    after = cache_log(s)
    eq(after["stored"], 2, "one entry for the API record, one for the page (was %r)" % before)
    eq(after["hits"], 80)
    s.start()


# --- 3: a bounded cache under a flood ---

def flood():
    budget = 4 << 20
    s = Server(BINARY, config={"cache": {"max_bytes": str(budget)},
                               "log": {"access_log": "off"}})
    try:
        s.start()
        post(s, SEED)
        hot = get_line("/articles/" + SEED_SLUG)
        eq(s.pipeline([hot]), [200])
        # warm everything that is allocated once, then measure
        eq(set(s.pipeline([get_line("/api/articles?page=%d" % n) for n in range(2, 3000)])),
           {200})
        eq(s.pipeline([hot]), [200])  # the warm-up pushed it out: it is back, and hot
        rss0 = s.rss_kib()
        n, every = 30000, 10
        reqs = []
        for i in range(n):
            reqs.append(get_line("/api/articles?per_page=%d&page=%d" % (i % 100 + 1, i + 5000)))
            if i % every == 0:
                reqs.append(hot)
        statuses = s.pipeline(reqs, batch=200, timeout=120)
        eq(set(statuses), {200})
        rss1 = s.rss_kib()
        eq(s.stop(), 0)
        c = cache_log(s)
        hot_reads = 1 + n // every  # the one above, a miss, and those of the flood
        print("# flood of %d distinct URLs, budget %d KiB: RSS %d -> %d KiB; %d hits of %d hot "
              "reads; %d evicted; %d of %d bytes held in %d entries"
              % (n, budget >> 10, rss0, rss1, c["hits"], hot_reads - 1, c["evicted"],
                 c["bytes"], c["max_bytes"], c["entries"]))
        # the flood's URLs never hit; every hot read after the first did
        eq(c["hits"], hot_reads - 1, "the hot page stayed in the cache")
        check(c["evicted"] > 25000, "least recently used entries went: %r" % c)
        check(c["bytes"] <= budget, c)
        check(c["bytes"] > budget * 0.9, "eviction went one at a time, not all at once: %r" % c)
        if instrumented(BINARY):
            print("# RSS not checked: sanitizer or valgrind build")
        else:
            grew = rss1 - rss0
            check(grew <= (budget >> 10) + 12 * 1024,
                  "RSS grew %d KiB for a %d KiB budget" % (grew, budget >> 10))
    finally:
        s.cleanup()


# --- 4: bounds on expensive reads ---

def search_words(s):
    post(s, SEED)
    words = "Jilin " + " ".join("word%d" % i for i in range(31))
    st, h, b = s.get("/search?q=" + urllib.parse.quote(words))
    eq(st, 200)
    html = b.decode()
    check("Only the first 8 words were searched" in html and "word7 word8" in html, html[-1500:])
    st, _, b = s.json("GET", "/api/articles?q=" + urllib.parse.quote(words))
    eq(st, 400)
    check("q:" in b["error"]["message"] and "8 words" in b["error"]["message"], b)
    st, _, b = s.json("GET", "/api/articles?q=" + urllib.parse.quote(" ".join(["Jilin"] * 8)))
    eq((st, b["total"]), (200, 1), "eight words are searched")


def query_budget():
    s = Server(BINARY, config={"server": {"query_timeout_ms": "1"}})
    try:
        docs = [{"title": "Trade story %d" % i, "body": "trade border port delegation %d" % i,
                 "published_at": "2022-01-01T00:00:00Z"} for i in range(3000)]
        path = os.path.join(s.dir, "many.json")
        with open(path, "w") as f:
            json.dump(docs, f)
        r = s.run_cli("import", "-c", s.config_path, path)
        eq(r.returncode, 0, r.stderr)
        s.start()
        st, h, b = s.json("GET", "/api/articles?q=trade+border+port")
        eq(st, 503, b)
        check(1 <= int(h["retry-after"]) <= 10, h)
        eq(h["cache-control"], "no-store")
        eq(b["error"]["status"], 503)
        st, h, b = s.get("/search?q=trade+border")
        eq(st, 503)
        check(h["content-type"].startswith("text/html"))
        check("took longer than its budget of 1 ms" in s.stderr(), s.stderr()[-1000:])
        eq(s.get("/articles/trade-story-7")[0], 200, "a single story has no budget to miss")
        eq(s.stop(), 0)
    finally:
        s.cleanup()


# --- 5: slow bodies and headers ---

def refused_from_the_header(s):
    # a write without a token, a huge body announced and none sent: 401 at once, closed
    for headers, want in ((b"", 401), (b"Authorization: Bearer wrong\r\n", 401)):
        raw, closed, took = send(
            s, b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
            headers + b"Content-Length: 50000000\r\n\r\n", timeout=5)
        eq(status_of(raw), want, raw[:200])
        check(closed, "the connection is closed after a refusal with a body unread")
        check(took < 4, "answered after %.1f s" % took)
    # a client that sends its whole body before it reads (Python's http.client, and nginx
    # forwarding a buffered body) still gets the answer: the server drains the body it
    # refused instead of closing on it (a close with unread bytes resets the connection)
    big = json.dumps({"title": "x", "body": "y" * 5000000})
    for token, want in (("wrong", 401), (None, 401), ("test-token", 413)):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        st, h, b = s.request("POST", "/api/articles", body=big, headers=headers)
        eq((st, json.loads(b)["error"]["status"]), (want, want), "5 MB body, token %r" % token)
        eq(h["cache-control"], "no-store")
    # nothing was stored, and the server takes writes again
    eq(s.json("GET", "/api/articles")[2]["total"], 0)


def slow_body():
    s = Server(BINARY, config={"server": {"min_body_rate": "1000", "header_timeout_s": "2"}})
    try:
        s.start()
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
        sock.sendall(b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nAuthorization: Bearer test-token\r\nContent-Length: 100000\r\n\r\n")
        start, closed = time.time(), None
        while time.time() - start < 20:
            try:
                sock.send(b"x" * 10)  # 20 bytes a second
            except (BrokenPipeError, ConnectionResetError):
                closed = time.time() - start
                break
            time.sleep(0.5)
        sock.close()
        check(closed is not None, "a body at 20 bytes a second held its connection for 20 s")
        check(closed < 6 * SLOW, "closed after %.1f s" % closed)
        print("# a body at 20 B/s (min_body_rate 1000) was cut after %.1f s" % closed)
        # a header begun and dribbled: cut after header_timeout_s, though timeout_s is 30
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"p" * 200
        start, closed = time.time(), None
        for byte in request:
            try:
                sock.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = time.time() - start
                break
            time.sleep(0.25)
        sock.close()
        check(closed is not None and closed < 2 + 3 * SLOW,
              "a header dribbled for %s s with header_timeout_s = 2" % closed)
        print("# a header dribbled 4 bytes a second was cut after %.1f s" % closed)
        # a body that keeps up is read in full
        body = json.dumps({"title": "Steady", "body": "y" * 3000}).encode()
        head = (b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                b"\r\nAuthorization: Bearer test-token\r\nConnection: close\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
        res = exchange(s, None, pieces=[head] + [body[i:i + 1000]
                                               for i in range(0, len(body), 1000)],
                       delay=0.3, timeout=20)
        out = res.raw
        eq(status_of(out), 201, out[:200])
        eq(s.stop(), 0)
    finally:
        s.cleanup()


def slowhttptest_body():
    """slowhttptest -B (slow POST bodies) with more connections than max_connections: the
    server refuses them from their headers and stays available to everyone else."""
    check(os.path.exists(SLOWHTTPTEST), "%s is missing: scripts/test installs slowhttptest"
          % SLOWHTTPTEST)
    s = Server(BINARY, config={"server": {"max_connections": "100"},
                               "log": {"access_log": "off"}})
    tool = None
    try:
        s.start()
        out = os.path.join(s.dir, "slow")
        tool = subprocess.Popen([SLOWHTTPTEST, "-B", "-c", "300", "-r", "150", "-i", "2", "-s",
                                 "65536", "-x", "10", "-l", "12", "-t", "POST", "-u",
                                 "http://127.0.0.1:%d/api/articles" % s.port, "-p", "3", "-o",
                                 out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        time.sleep(3)
        probes = []
        deadline = time.time() + 7
        while time.time() < deadline:
            try:
                probes.append(s.get("/healthz", headers={"Connection": "close"})[0])
            except OSError as e:
                probes.append(repr(e))
            time.sleep(0.25)
        report, _ = tool.communicate(timeout=60)
        tool = None
        text = re.sub(r"\x1b\[[0-9;]*m", "", report.decode(errors="replace"))
        eq(set(probes), {200}, "probes during the attack (%d)" % len(probes))
        check("service available:" in text, "slowhttptest ran: " + text[-800:])
        print("# slowhttptest -B, 300 connections at 150/s: %d probes, all 200" % len(probes))
        eq(s.stop(), 0)
    finally:
        if tool:
            os.killpg(tool.pid, signal.SIGKILL)
            tool.wait()
        s.cleanup()


# --- 7: configuration that is not UTF-8 ---

def latin1_config():
    s = Server(BINARY)
    try:
        with open(s.config_path, "ab") as f:
            f.write(b"[site]\ntitle = Z\xfcrich\n")
        lines = open(s.config_path, "rb").read().count(b"\n")
        r = subprocess.run([BINARY, "serve", "-c", s.config_path], capture_output=True,
                           timeout=20, cwd=s.dir)
        eq(r.returncode, 2, r.stderr)
        want = "config.ini:%d: site.title: not valid UTF-8" % lines
        check(want.encode() in r.stderr, r.stderr)
        check(b"listening on" not in r.stderr)
    finally:
        s.cleanup()


# --- 8: /healthz ---

def healthz_public_only(s):
    post(s, {"title": "Public", "body": "x", "published_at": "2020-01-01T00:00:00Z"})
    post(s, {"title": "Draft", "body": "x", "status": "draft"})
    post(s, {"title": "Later", "body": "x", "published_at": "2099-01-01T00:00:00Z"})
    st, h, b = s.json("GET", "/healthz")
    eq(st, 200)
    eq((b["status"], b["articles"], sorted(b)), ("ok", 1, ["articles", "status", "version"]))
    eq(h["cache-control"], "no-store")


# --- 9: files ---

def fifo_and_big_file(s):
    static = os.path.join(s.dir, "static")
    os.mkfifo(os.path.join(static, "pipe.css"))
    for path in ("/static/pipe.css", "/static/pipe.css", "/static/pipe.css"):
        raw, _, took = send(s, get_line(path, b"Connection: close\r\n"), timeout=5)
        eq(status_of(raw), 404, raw[:100])
        check(took < 3, "a FIFO took %.1f s" % took)
    eq(s.get("/healthz")[0], 200, "no thread is stuck on the FIFO")
    big = os.path.join(static, "big.bin")
    blob = os.urandom(1 << 20) * 20  # 20 MiB
    with open(big, "wb") as f:
        f.write(blob)
    for _ in range(2):  # built, then from the cache
        st, h, b = s.get("/static/big.bin")
        eq((st, int(h["content-length"]), len(b)), (200, len(blob), len(blob)))
        check(b == blob, "the bytes of the file")
    # edited: the next answer is the new file
    with open(big, "wb") as f:
        f.write(b"small now")
    st, h, b = s.get("/static/big.bin")
    eq((st, b), (200, b"small now"))


# --- 10: Last-Modified from content ---

def last_modified_stable(s):
    post(s, SEED)
    paths = ("/", "/search?q=jilin", "/news-sitemap.xml", "/sitemap.xml", "/feed.xml",
             "/api/articles", "/tags/nope", "/articles/" + SEED_SLUG)
    first = {p: s.get(p)[1].get("last-modified") for p in paths}
    time.sleep(1.2)
    # new cache keys or uncached routes: built again a second later
    for p in paths:
        other = p + ("&" if "?" in p else "?") + "page=1"
        st, h, _ = s.get(other)
        if st == 200:
            eq(h["last-modified"], first[p], other + " a second later")
            eq(s.get(other, headers={"If-Modified-Since": first[p]})[0], 304, other)
    # and across a restart
    eq(s.stop(), 0)
    time.sleep(1.1)
    s.start()
    for p in paths:
        st, h, _ = s.get(p)
        if st == 200:
            eq(h["last-modified"], first[p], p + " after a restart")


def scheduled_moves_last_modified(s):
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
    post(s, {"title": "Embargoed", "body": "secret", "published_at": when})
    time.sleep(1.1)
    post(s, {"title": "Open", "body": "plain", "published_at": "2020-01-01T00:00:00Z"})
    before = {}
    for p in ("/feed.xml", "/sitemap.xml", "/"):
        st, h, b = s.get(p)
        check(b"Embargoed" not in b and b"embargoed" not in b, p)
        before[p] = h["last-modified"]
    time.sleep(3.5)
    for p in ("/feed.xml", "/sitemap.xml", "/"):
        st, h, b = s.get(p, headers={"If-Modified-Since": before[p]})
        eq(st, 200, p + ": a client holding the page from before the embargo lifted")
        check(b"mbargoed" in b, p)
        check(h["last-modified"] != before[p], p)


def templates_move_last_modified(s):
    post(s, SEED)
    paths = ("/", "/feed.xml", "/sitemap.xml", "/news-sitemap.xml", "/articles/" + SEED_SLUG)
    before = {p: s.get(p)[1]["last-modified"] for p in paths}
    time.sleep(1.1)
    for name in ("layout", "feed", "sitemap", "news-sitemap"):
        path = os.path.join(s.dir, "templates", name + ".mustache")
        with open(path, "a") as f:
            f.write("\n")
    s.kill(signal.SIGHUP)
    deadline = time.time() + 5
    while "templates reloaded" not in s.stderr() and time.time() < deadline:
        time.sleep(0.05)
    for p in paths:
        st, h, _ = s.get(p, headers={"If-Modified-Since": before[p]})
        eq(st, 200, p + ": drawn by an edited template since")
        check(h["last-modified"] != before[p], p)


# --- 11: framing ---

def framing(s):
    cases = [
        (b"POST /api/articles HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 501),
        (b"POST /api/articles HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n"
         b"\r\n0\r\n\r\n", 501),
        (b"POST /api/articles HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\nab", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 2\r\n\r\nab", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n Content-Length: 2\r\n\r\nab", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tmore\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ]
    for data, want in cases:
        raw, closed, took = send(s, data, timeout=4)
        eq(status_of(raw), want, "%r -> %r" % (data, raw[:120]))
        check(closed and took < 3, "%r: closed %r after %.1f s" % (data, closed, took))
        err = json.loads(body_of(raw))["error"]
        eq(err["status"], want)
        eq(s.get("/healthz")[0], 200)
    # HTTP/1.0 needs no Host
    raw, _, _ = send(s, b"GET /healthz HTTP/1.0\r\n\r\n")
    eq(status_of(raw), 200)
    # too many query arguments: 414 with a body, not a silent close
    for n in (65, 500, 1000):
        q = "&".join("a%d=1" % i for i in range(n))
        raw, _, _ = send(s, get_line("/search?" + q, b"Connection: close\r\n"))
        eq(status_of(raw), 414, "%d arguments: %r" % (n, raw[:100]))
        eq(json.loads(body_of(raw))["error"]["status"], 414)
    raw, _, _ = send(s, get_line("/api/articles?" + "&".join("x%d=1" % i for i in range(60)),
                                     b"Connection: close\r\n"))
    eq(status_of(raw), 200, "60 arguments are fine")


# --- 12: the rate limiter ---

def rate_limiter():
    s = Server(BINARY, config={"server": {"trust_proxy": "true"}})
    try:
        s.start()

        def write(client, token):
            h = {"X-Forwarded-For": client}
            if token:
                h["Authorization"] = "Bearer " + token
            return s.request("POST", "/api/articles", body={"title": "x", "body": "y"},
                             headers=h)[0]
        # requests without credentials are 401s that never count
        for _ in range(30):
            eq(write("198.51.100.1", None), 401)
        eq(write("198.51.100.1", "test-token"), 201)
        # an IPv6 host is counted by its /64
        for i in range(10):
            eq(write("2001:db8:0:1::%x" % (i + 1), "guess"), 401)
        eq(write("2001:db8:0:1:ffff::9", "test-token"), 429)
        eq(write("2001:db8:0:2::1", "test-token"), 201)
        # 300 clients guessing in turn: none resets another's count
        clients = ["10.0.%d.%d" % (i // 200, i % 200) for i in range(300)]
        for _ in range(10):
            for c in clients:
                eq(write(c, "guess"), 401)
        held = [write(c, "guess") for c in clients]
        eq(held.count(429), 300, "clients held after ten wrong tokens")
        eq(s.stop(), 0)
    finally:
        s.cleanup()


# --- 14: what validators said ---

CSP = ("default-src 'self'; img-src 'self' https: data:; script-src 'none'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def validators(s):
    post(s, {"title": "Pictured", "body": "![a map](https://127.0.0.1:1/map.png)",
             "tags": ["maps"], "published_at": "2020-01-01T00:00:00Z"})
    for path in ("/", "/articles/pictured", "/tags/maps", "/search?q=map", "/nope"):
        h = s.get(path)[1]
        eq(h["content-security-policy"], CSP, path)
        eq(h["x-content-type-options"], "nosniff", path)
    for path in ("/api/articles", "/feed.xml", "/sitemap.xml", "/healthz"):
        eq(s.get(path)[1]["x-content-type-options"], "nosniff", path)
    for path, want in (("/tags/maps", "Stories tagged “maps” on Gazette"),
                       ("/search?q=map", "Stories on Gazette matching “map”")):
        html = s.get(path)[2].decode()
        m = re.search(r'<meta name="description" content="([^"]*)">', html)
        check(m, path + " has a meta description")
        eq(m.group(1), want, path)
    html = s.get("/search?q=map")[2].decode()
    check('<meta name="robots" content="noindex">' in html, "search pages are noindex")
    check("noindex" not in s.get("/tags/maps")[2].decode())
    forms = re.findall(r'<form[^>]*role="search"[^>]*>', html)
    eq(len(forms), 2)
    labels = [re.search(r'aria-label="([^"]+)"', f).group(1) for f in forms]
    eq(len(set(labels)), 2, "two search landmarks, two labels: %r" % labels)
    # no story from the last two days: still a urlset with a url (sitemaps.org schema)
    st, h, b = s.get("/news-sitemap.xml")
    eq(st, 200)
    root = ET.fromstring(b)
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    eq(root.tag, ns + "urlset")
    urls = root.findall(ns + "url")
    check(len(urls) >= 1, b)
    for u in urls:
        eq(len(u.findall(ns + "loc")), 1)
        check(u.find(ns + "loc").text.startswith("http://news.test/"))


# --- 21: Vary and the rest alike in both encodings ---

def etag_shape(v):
    return None if v is None else re.sub(r"[0-9a-f]{16}(-gz)?", "H", v)


def vary_consistent(s):
    post(s, SEED)
    post(s, {"title": "Tagged", "body": "z " * 600, "tags": ["trade"]})
    paths = ["/", "/?page=1", "/?page=9", "/articles/" + SEED_SLUG, "/articles/nope",
             "/tags/trade", "/tags/trade?page=1", "/tags/none", "/search?q=jilin",
             "/search?q=jilin&page=1", "/search?q=nothing", "/search?q=%ff", "/feed.xml",
             "/sitemap.xml", "/news-sitemap.xml", "/static/style.css", "/robots.txt",
             "/favicon.ico", "/static/nope.css", "/healthz", "/api/articles",
             "/api/articles?q=jilin", "/api/articles?per_page=0",
             "/api/articles/" + SEED_SLUG, "/api/articles/nope", "/nope"]
    problems = []
    for path in paths:
        for method in ("GET", "HEAD"):
            for first in (True, False):  # which variant reaches the server first
                order = ({}, {"Accept-Encoding": "gzip"})
                if not first:
                    order = order[::-1]
                got = {}
                for headers in order:
                    st, h, _ = s.request(method, path, headers=headers)
                    got["gzip" if headers else "plain"] = (
                        st, h.get("vary"), etag_shape(h.get("etag")), h.get("cache-control"),
                        h.get("content-type"))
                if got["plain"] != got["gzip"]:
                    problems.append("%s %s: plain %r, gzip %r" % (method, path, got["plain"],
                                                                   got["gzip"]))
    eq(problems, [], "answers that differ by encoding")
    # compressible answers over 1 KiB always say Vary, cached or not
    for path in ("/search?q=jilin&x=1", "/nope", "/articles/" + SEED_SLUG):
        eq(s.get(path)[1].get("vary"), "Accept-Encoding", path)


run([
    ("2 cache keys are injective and read only the route's parameters", with_server(cache_keys)),
    ("3 a flood of distinct URLs: bounded memory, the hot page stays", flood),
    ("4 searches read at most 8 words", with_server(search_words)),
    ("4 a listing over its time budget answers 503", query_budget),
    ("5 401 from the header, the body never read", with_server(refused_from_the_header)),
    ("5 slow bodies and slow headers are cut", slow_body),
    ("5 slowhttptest -B leaves the server available", slowhttptest_body),
    ("7 a config string that is not UTF-8 stops the start", latin1_config),
    ("8 /healthz counts public stories only", with_server(healthz_public_only)),
    ("9 a FIFO is a 404 at once; files are sent whole from disk", with_server(fifo_and_big_file)),
    ("10 Last-Modified holds across seconds and restarts", with_server(last_modified_stable)),
    ("10 a story going public moves Last-Modified", with_server(scheduled_moves_last_modified)),
    ("10 an edited template moves Last-Modified", with_server(templates_move_last_modified)),
    ("11 framing: TE, BWS, obs-fold, Host, argument count", with_server(framing)),
    ("12 the rate limiter: exact clients, /64, uncounted 401s", rate_limiter),
    ("14 CSP, descriptions, landmarks, a valid empty news sitemap", with_server(validators)),
    ("21 Vary, ETag, Cache-Control and type alike in both encodings",
     with_server(vary_consistent)),
])
