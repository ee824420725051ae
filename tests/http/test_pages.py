"""test_pages.py - HTML pages, HTTP semantics, static files and the cache, against the binary."""

import gzip
import os
import re
import signal
import socket
import sys
import time
import urllib.parse

from harness import post, Server, check, eq, run, server_test
from seed import SEED, SEED_PARAGRAPHS, SEED_SLUG

BINARY = sys.argv[1]


def with_server(fn, **kw):
    return server_test(BINARY, fn, **kw)



def text(html):
    """The visible text of a page, roughly as a browser shows it."""
    html = re.sub(r"(?s)<(script|style|head).*?</\1>", "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def placeholder_then_front(s):
    st, h, b = s.get("/")
    eq(st, 200)
    check(b"<h1>Coming soon!</h1>" in b, b)
    post(s, SEED)
    st, h, b = s.get("/")
    eq(st, 200)
    check(SEED["title"].encode() in b and b"Coming soon!" not in b)
    check(h["content-type"] == "text/html; charset=utf-8")


def story_page(s):
    post(s, SEED)
    st, h, b = s.get("/articles/" + SEED_SLUG)
    eq(st, 200)
    html = b.decode()
    check("<h1>%s</h1>" % SEED["title"] in html)
    check('<time datetime="2023-01-12T14:33:00+08:00">2023-01-12 14:33</time>' in html)
    for p in SEED_PARAGRAPHS:
        p = p.strip()
        check("<p>%s</p>" % p.replace("'", "&#39;") in html or "<p>%s</p>" % p in html, p[:40])
    check("Source: Editor: Ye Lijiao" in text(html))
    check('<html lang="en">' in html)
    check('<link rel="canonical" href="http://news.test/articles/%s">' % SEED_SLUG in html)
    check('<meta property="article:published_time" content="2023-01-12T14:33:00+08:00">' in html)
    check('"@type":"NewsArticle"' in html)


def pagination(s):
    for i in range(45):
        post(s, {"title": "Story %02d" % i, "body": "b", "published_at":
                 "2024-02-%02dT10:00:00Z" % (i % 28 + 1)})
    st, _, b = s.get("/")
    eq(st, 200)
    eq(b.count(b'class="teaser"'), 20)
    check(b'rel="next" href="/?page=2"' in b and b'rel="prev"' not in b)
    st, _, b = s.get("/?page=2")
    eq(st, 200)
    check(b'rel="prev" href="/"' in b and b'rel="next" href="/?page=3"' in b)
    st, _, b = s.get("/?page=3")
    eq(st, 200)
    eq(b.count(b'class="teaser"'), 5)
    check(b'rel="next"' not in b)
    for bad in ("4", "0", "-1", "x", "99999999999"):
        eq(s.get("/?page=" + bad)[0], 404, "page=" + bad)


def drafts_and_scheduled(s):
    post(s, {"title": "Draft", "body": "x", "status": "draft"})
    post(s, {"title": "Later", "body": "x", "published_at": "2099-01-01T00:00:00Z"})
    st, _, b = s.get("/")
    eq(st, 200)
    check(b"Coming soon!" in b, "nothing public: placeholder")
    eq(s.get("/articles/draft")[0], 404)
    # an embargo is not revealed: a draft's and a scheduled story's URL answer exactly like a
    # slug that never existed (status, headers but Date, bytes), on the page and in the API
    for prefix in ("/articles/", "/api/articles/"):
        never = s.get(prefix + "never-was")
        eq(never[0], 404)
        for slug in ("draft", "later"):
            got = s.get(prefix + slug)
            eq(got[0], 404, prefix + slug)
            eq(got[2], never[2], prefix + slug + ": the same bytes as a missing slug")
            drop = lambda h: {k: v for k, v in h.items() if k != "date"}
            eq(drop(got[1]), drop(never[1]), prefix + slug + ": the same headers")
            check(b"Coming soon!" not in got[2], prefix + slug)


def scheduled_goes_public(s):
    when = time.gmtime(time.time() + 2)
    post(s, {"title": "Soon", "body": "x", "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", when)})
    eq(s.get("/articles/soon")[0], 404)
    st, _, b = s.get("/")
    check(b"Coming soon!" in b)
    time.sleep(3.5)
    eq(s.get("/articles/soon")[0], 200, "public at its time, no restart, no write")
    st, _, b = s.get("/")
    check(b"/articles/soon" in b, "the cached front page was dropped")


def tags(s):
    post(s, {"title": "Tagged", "body": "x", "tags": ["World News", "Asia"]})
    st, _, b = s.get("/tags/world-news")
    eq(st, 200)
    check(b"/articles/tagged" in b)
    check(b'href="/tags/asia"' in s.get("/articles/tagged")[2])
    eq(s.get("/tags/nothing-here")[0], 404)
    eq(s.get("/tags/World%20News")[0], 404)
    eq(s.get("/tags/world-news?page=2")[0], 404)


def escaping(s):
    hostile = '<script>alert("t")</script>&\'"'
    a = post(s, {"title": hostile, "body": 'Hi <script>alert(1)</script> <img src=x onerror=alert(2)>'
                 "\n\n[x](javascript:alert(3))", "editor": "<b>ed</b>", "source": "\"><svg onload=1>",
                 "author": "A & B", "tags": ["<i>tag</i>"], "slug": "hostile"})
    for path in ("/articles/hostile", "/", "/search?q=script", "/feed.xml", "/tags/i-tag-i"):
        st, _, b = s.get(path)
        eq(st, 200, path)
        html = b.decode()
        check("<script>alert" not in html, path)
        check("<b>ed</b>" not in html and "<svg" not in html, path)
        check("onerror=alert" not in html.replace("onerror=alert(2)&gt;", ""), path)
        check("javascript:" not in html, path)
    html = s.get("/articles/hostile")[2].decode()
    check("&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;&amp;&#39;&quot;" in html, "title escaped")
    check("&lt;b&gt;ed&lt;/b&gt;" in html)
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    check("<" not in ld and ">" not in ld and "&" not in ld.replace("\\u0026", ""), ld)
    check("\\u003cscript\\u003e" in ld)
    # a hostile search query is escaped where it is shown
    st, _, b = s.get("/search?q=" + urllib.parse.quote('"><script>x</script>'))
    eq(st, 200)
    check(b"<script>x" not in b)


def head_everywhere(s):
    post(s, SEED)
    for path in ("/", "/articles/" + SEED_SLUG, "/api/articles", "/api/articles/" + SEED_SLUG,
                 "/feed.xml", "/sitemap.xml", "/static/style.css", "/healthz", "/search?q=jilin",
                 "/nope"):
        g = s.get(path)
        h = s.request("HEAD", path)
        eq(h[0], g[0], "HEAD status " + path)
        eq(h[2], b"", "HEAD has no body " + path)
        eq(h[1].get("content-length"), g[1].get("content-length"), "HEAD length " + path)


def conditional(s):
    post(s, SEED)
    for path in ("/", "/articles/" + SEED_SLUG, "/api/articles/" + SEED_SLUG, "/feed.xml",
                 "/static/style.css", "/search?q=jilin"):
        st, h, b = s.get(path)
        eq(st, 200)
        etag = h["etag"]
        check(re.fullmatch(r'"[0-9a-f]{16}"', etag), etag)
        check("last-modified" in h and h["cache-control"] == "public, max-age=60", h)
        eq(h["vary"], "Accept-Encoding")
        st, h2, b2 = s.get(path, headers={"If-None-Match": etag})
        eq(st, 304, "If-None-Match " + path)
        eq(b2, b"")
        eq(h2["etag"], etag)
        st, _, _ = s.get(path, headers={"If-None-Match": '"other", ' + etag})
        eq(st, 304)
        eq(s.get(path, headers={"If-None-Match": '"nope"'})[0], 200)
        eq(s.get(path, headers={"If-Modified-Since": h["last-modified"]})[0], 304)
        eq(s.get(path, headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})[0], 200)
        # If-None-Match wins over If-Modified-Since
        eq(s.get(path, headers={"If-None-Match": '"nope"',
                                "If-Modified-Since": h["last-modified"]})[0], 200)
    # a write changes the ETag
    _, h, _ = s.get("/")
    post(s, {"title": "New", "body": "x"})
    st, h2, _ = s.get("/", headers={"If-None-Match": h["etag"]})
    eq(st, 200)
    check(h2["etag"] != h["etag"])


def gzip_encoding(s):
    post(s, SEED)
    path = "/articles/" + SEED_SLUG
    st, h, plain = s.get(path)
    check(len(plain) > 1024)
    st, h, z = s.get(path, headers={"Accept-Encoding": "gzip, deflate"})
    eq(h.get("content-encoding"), "gzip")
    eq(gzip.decompress(z), plain)
    eq(int(h["content-length"]), len(z))
    check(h["etag"] != s.get(path)[1]["etag"], "each encoding has its own strong ETag")
    eq(s.get(path, headers={"If-None-Match": h["etag"], "Accept-Encoding": "gzip"})[0], 304)
    st, h, b = s.get(path, headers={"Accept-Encoding": "gzip;q=0"})
    check("content-encoding" not in h)
    st, h, b = s.get("/healthz", headers={"Accept-Encoding": "gzip"})
    check("content-encoding" not in h, "small bodies stay plain")
    st, h, b = s.get("/api/articles?status=all", headers={"Accept-Encoding": "gzip"}, auth=True)
    eq(st, 200)


def security_headers(s):
    for path in ("/", "/nope"):
        h = s.get(path)[1]
        eq(h["x-content-type-options"], "nosniff")
        csp = h["content-security-policy"]
        check("default-src 'self'" in csp and "script-src 'none'" in csp, csp)
    st, h, _ = s.request("POST", "/api/articles", body="{}", auth=True,
                         headers={"Content-Type": "application/json"})
    eq(h["cache-control"], "no-store")
    # no error page is kept by any cache (SPEC §5)
    for path in ("/nope", "/articles/nope", "/api/articles/nope", "/?page=99", "/tags/none"):
        st, h, _ = s.get(path)
        eq((st, h["cache-control"]), (404, "no-store"), path)
        check("etag" not in h and "last-modified" not in h, path)


def static_files(s):
    st, h, b = s.get("/static/style.css")
    eq(st, 200)
    eq(h["content-type"], "text/css; charset=utf-8")
    eq(s.get("/robots.txt")[1]["content-type"], "text/plain; charset=utf-8")
    eq(s.get("/favicon.ico")[1]["content-type"], "image/x-icon")
    secret = os.path.join(s.dir, "secret.txt")
    with open(secret, "w") as f:
        f.write("top secret")
    os.symlink(secret, os.path.join(s.dir, "static", "leak.txt"))
    os.symlink(os.path.join(s.dir, "static", "style.css"), os.path.join(s.dir, "static", "ok.css"))
    os.mkdir(os.path.join(s.dir, "static", "sub"))
    with open(os.path.join(s.dir, "static", ".hidden"), "w") as f:
        f.write("x")
    eq(s.get("/static/ok.css")[0], 200, "a symlink inside the folder is fine")
    for path in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt",
                 "/static/%2E%2E%2Fsecret.txt", "/static/leak.txt", "/static/sub",
                 "/static/sub/", "/static/", "/static/.hidden", "/static/style.css%00.png",
                 "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/nope.css",
                 "/static/..\\secret.txt"):
        raw = s.raw(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0
        check(status in (400, 404), "%s gave %r" % (path, raw[:40]))
        check(b"top secret" not in raw and b"root:" not in raw, path)
    # an edited file is served fresh
    with open(os.path.join(s.dir, "static", "style.css"), "a") as f:
        f.write("/* edited */\n")
    check(s.get("/static/style.css")[2].endswith(b"/* edited */\n"))


def other_process_writes(s):
    """A write by `gazette import` in another process shows within a second."""
    eq(s.get("/")[0], 200)
    check(b"Coming soon!" in s.get("/")[2])
    src = os.path.join(s.dir, "one.json")
    with open(src, "w") as f:
        f.write('{"title": "From import", "body": "x"}')
    r = s.run_cli("import", "-c", s.config_path, src)
    eq(r.returncode, 0, r.stderr)
    time.sleep(1.0)
    check(b"/articles/from-import" in s.get("/")[2], "import seen within one second")
    eq(s.json("GET", "/healthz")[2]["articles"], 1)


def template_reload(s):
    post(s, SEED)
    tpl = os.path.join(s.dir, "templates", "placeholder.mustache")
    art = os.path.join(s.dir, "templates", "article.mustache")
    with open(art) as f:
        original = f.read()
    with open(art, "w") as f:
        f.write(original.replace("<h1>{{title}}</h1>", "<h1 class=\"v2\">{{title}}</h1>"))
    s.kill(signal.SIGHUP)
    time.sleep(0.5)
    check(b'<h1 class="v2">' in s.get("/articles/" + SEED_SLUG)[2], "reloaded")
    with open(tpl, "w") as f:
        f.write("{{#broken}}\n")
    with open(art, "w") as f:
        f.write(original)
    s.kill(signal.SIGHUP)
    time.sleep(0.5)
    check(b'<h1 class="v2">' in s.get("/articles/" + SEED_SLUG)[2], "broken set refused")
    check("placeholder.mustache:1:1" in s.stderr(), s.stderr())


def template_error_at_start():
    s = Server(BINARY)
    try:
        with open(os.path.join(s.dir, "templates", "error.mustache"), "a") as f:
            f.write("\n\n  {{/nothing}}\n")
        r = s.run_cli("serve", "-c", s.config_path)
        eq(r.returncode, 2)
        check(re.search(rb"error\.mustache:\d+:3: ", r.stderr), r.stderr)
    finally:
        s.cleanup()


def trust_proxy():
    s = Server(BINARY, config={"server": {"trust_proxy": "true"}})
    try:
        s.start()
        s.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
        s.get("/robots.txt", headers={"X-Forwarded-For": "not-an-address"})
        s.stop()
        lines = s.access_log().splitlines()
        check(lines[0].startswith("198.51.100.7 - - "), lines[0])
        check(lines[1].startswith("127.0.0.1 - - "), lines[1])
    finally:
        s.cleanup()


def junk_on_socket(s):
    for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"\xff" * 5000, b"GET /" + b"a" * 100000
                 + b" HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                 b"Content-Length: 7\r\n\r\nhello"):
        try:
            s.raw(junk, timeout=2)
        except OSError:
            pass
        eq(s.get("/healthz")[0], 200, "up after %r" % junk[:20])


def not_found_page(s):
    st, h, b = s.get("/no/such/page")
    eq(st, 404)
    check(b"Page not found" in b and h["content-type"].startswith("text/html"))
    st, h, b = s.request("POST", "/")
    eq(st, 405)
    eq(h["allow"], "GET, HEAD")
    for path in ("/articles/", "/articles/a/b", "/articles/UPPER", "/tags/"):
        eq(s.get(path)[0], 404, path)


run([
    ("placeholder, then the front page", with_server(placeholder_then_front)),
    ("story page like the seed", with_server(story_page)),
    ("front page pagination", with_server(pagination)),
    ("drafts and scheduled stories", with_server(drafts_and_scheduled)),
    ("a scheduled story goes public on time", with_server(scheduled_goes_public)),
    ("tag pages", with_server(tags)),
    ("hostile titles, editors and bodies are escaped", with_server(escaping)),
    ("HEAD wherever GET works", with_server(head_everywhere)),
    ("ETag, Last-Modified and 304", with_server(conditional)),
    ("gzip", with_server(gzip_encoding)),
    ("nosniff, CSP and Cache-Control", with_server(security_headers)),
    ("static files stay inside the folder", with_server(static_files)),
    ("writes by another process", with_server(other_process_writes)),
    ("SIGHUP reloads templates; a broken set is refused", with_server(template_reload)),
    ("a template error at start exits 2", template_error_at_start),
    ("trust_proxy takes the last X-Forwarded-For hop", trust_proxy),
    ("junk on the socket", with_server(junk_on_socket)),
    ("404 and 405 pages", with_server(not_found_page)),
])
