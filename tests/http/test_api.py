"""test_api.py - the JSON API of SPEC §5 against the real binary: every route and status."""

import json
import sys
import threading
import time

from harness import post, Server, check, eq, run
from seed import SEED, SEED_SLUG

BINARY = sys.argv[1]


def server(**kw):
    s = Server(BINARY, **kw)
    s.start()
    return s


def with_server(fn, **kw):
    def test():
        s = server(**kw)
        try:
            fn(s)
            eq(s.stop(), 0, "exit status")
        finally:
            s.cleanup()
    return test



def create_get_list(s):
    status, h, a = post(s, SEED, want=None)
    eq(status, 201, "create")
    eq(h["location"], "/api/articles/" + SEED_SLUG)
    eq(h["cache-control"], "no-store")
    eq(a["slug"], SEED_SLUG)
    eq(a["url"], "http://news.test/articles/" + SEED_SLUG)
    eq(a["published_at"], "2023-01-12T14:33:00+08:00")
    eq(a["editor"], "Ye Lijiao")
    eq(a["source"], "")
    check(isinstance(a["id"], int) and a["id"] > 0)
    check(a["created_at"].endswith("Z") and a["updated_at"].endswith("Z"))
    check(a["body_html"].count("<p>") == 8, a["body_html"])
    status, h, got = s.json("GET", "/api/articles/" + SEED_SLUG)
    eq(status, 200)
    eq(got, a, "GET returns what POST answered")
    check(h["content-type"] == "application/json; charset=utf-8", h["content-type"])
    status, h, lst = s.json("GET", "/api/articles")
    eq(status, 200)
    eq((lst["page"], lst["per_page"], lst["total"], lst["pages"]), (1, 20, 1, 1))
    item = lst["articles"][0]
    check("body" not in item and "body_html" not in item, item.keys())
    eq(item["slug"], SEED_SLUG)


def replace_and_rename(s):
    post(s, {"title": "First", "body": "one"})
    post(s, {"title": "Other", "body": "two"})
    status, _, a = s.json("PUT", "/api/articles/first",
                          {"title": "First, revised", "body": "one again"}, auth=True)
    eq(status, 200)
    eq(a["slug"], "first", "PUT without slug keeps the slug")
    eq(a["title"], "First, revised")
    status, _, b = s.json("PUT", "/api/articles/first",
                          {"title": "First", "body": "x", "slug": "renamed"}, auth=True)
    eq(status, 200)
    eq((b["slug"], b["id"], b["created_at"]), ("renamed", a["id"], a["created_at"]))
    # SPEC §11: the old slug redirects, so links never break
    status, h, _ = s.get("/api/articles/first")
    eq((status, h.get("location")), (301, "/api/articles/renamed"), "old slug redirects")
    eq(s.get("/api/articles/renamed")[0], 200)
    status, _, e = s.json("PUT", "/api/articles/renamed",
                          {"title": "x", "body": "x", "slug": "other"}, auth=True)
    eq(status, 409, "rename onto a taken slug")
    check("slug" in e["error"]["message"])
    eq(s.json("PUT", "/api/articles/missing", {"title": "x", "body": "y"}, auth=True)[0], 404)


def delete(s):
    post(s, {"title": "Doomed", "body": "x"})
    status, h, body = s.request("DELETE", "/api/articles/doomed", auth=True)
    eq(status, 204)
    eq(body, b"")
    eq(s.get("/api/articles/doomed")[0], 404)
    eq(s.request("DELETE", "/api/articles/doomed", auth=True)[0], 404)


def error_shape(status, body, want_status, want_in=None):
    eq(status, want_status, "status")
    err = json.loads(body)["error"]
    eq(err["status"], want_status, "error.status")
    check(isinstance(err["message"], str) and err["message"], err)
    if want_in:
        check(want_in in err["message"], err["message"])


def statuses(s):
    # 401: missing and wrong token, with WWW-Authenticate
    st, h, b = s.request("POST", "/api/articles", body={"title": "x", "body": "y"})
    error_shape(st, b, 401)
    eq(h["www-authenticate"], "Bearer")
    eq(h["cache-control"], "no-store")
    st, h, b = s.request("POST", "/api/articles", body={"title": "x", "body": "y"},
                         headers={"Authorization": "Bearer wrong"})
    error_shape(st, b, 401)
    # 415
    st, h, b = s.request("POST", "/api/articles", body='{"title":"x","body":"y"}', auth=True,
                         headers={"Content-Type": "text/plain"})
    error_shape(st, b, 415)
    # 400 with line and column
    st, h, b = s.request("POST", "/api/articles", body='{\n  "title": "x",\n  "body": }', auth=True,
                         headers={"Content-Type": "application/json"})
    error_shape(st, b, 400, "line 3, column")
    # 400 invalid UTF-8
    st, h, b = s.request("POST", "/api/articles", body=b'{"title":"\xff\xfe","body":"y"}',
                         auth=True, headers={"Content-Type": "application/json"})
    error_shape(st, b, 400)
    # 422 names the field
    for body, field in ((({"body": "y"}), "title"), ({"title": "x"}, "body"),
                        ({"title": "x", "body": "y", "slug": "Bad Slug"}, "slug"),
                        ({"title": "x", "body": "y", "published_at": "2023-02-30T10:00:00Z"},
                         "published_at"),
                        ({"title": "x", "body": "y", "status": "live"}, "status"),
                        ({"title": "x", "body": "y", "tags": ["a"] * 21}, "tags"),
                        ({"title": "x" * 301, "body": "y"}, "title"),
                        ({"title": "x", "body": "y", "editor": "e" * 201}, "editor"),
                        ({"title": "x", "body": "y", "titel": "typo"}, "titel")):
        st, h, b = s.request("POST", "/api/articles", body=body, auth=True)
        error_shape(st, b, 422, field)
    # 409
    post(s, {"title": "x", "body": "y", "slug": "taken"})
    st, h, b = s.request("POST", "/api/articles", body={"title": "x", "body": "y", "slug": "taken"},
                         auth=True)
    error_shape(st, b, 409, "taken")
    # 404 and 405 with Allow
    st, h, b = s.request("GET", "/api/articles/nope")
    error_shape(st, b, 404)
    st, h, b = s.request("PATCH", "/api/articles/taken", auth=True)
    error_shape(st, b, 405)
    eq(h["allow"], "GET, HEAD, PUT, DELETE")
    st, h, b = s.request("DELETE", "/api/articles", auth=True)
    error_shape(st, b, 405)
    eq(h["allow"], "GET, HEAD, POST")
    # 400 for bad list parameters
    for q in ("per_page=0", "per_page=101", "per_page=x", "page=0", "page=-1", "status=secret"):
        st, h, b = s.request("GET", "/api/articles?" + q)
        error_shape(st, b, 400)
    # nothing above changed anything but the one article
    eq(s.json("GET", "/api/articles")[2]["total"], 1)


def writes_disabled():
    s = server(token=None)
    try:
        st, h, b = s.request("POST", "/api/articles", body={"title": "x", "body": "y"},
                             headers={"Authorization": "Bearer anything"})
        error_shape(st, b, 403)
        eq(s.stop(), 0)
    finally:
        s.cleanup()


def too_large():
    s = server(config={"server": {"max_body_bytes": "1000"}})
    try:
        big = json.dumps({"title": "x", "body": "y" * 5000})
        st, h, b = s.request("POST", "/api/articles", body=big, auth=True,
                             headers={"Content-Type": "application/json"})
        error_shape(st, b, 413)
        # decided from Content-Length before the body is sent: the server answers at once
        raw = s.raw(b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Authorization: Bearer test-token\r\nContent-Length: 100000000\r\n\r\n")
        check(raw.startswith(b"HTTP/1.1 413"), raw[:100])
        # chunked: the running count decides
        chunk = b"y" * 800
        req = (b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Authorization: Bearer test-token\r\nTransfer-Encoding: chunked\r\n\r\n" +
               (b"%x\r\n%s\r\n" % (len(chunk), chunk)) * 3 + b"0\r\n\r\n")
        raw = s.raw(req)
        check(raw.startswith(b"HTTP/1.1 413"), raw[:100])
        # a chunked flood far past the limit is cut off rather than read to the end
        flood = (b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer test-token\r\nTransfer-Encoding: chunked\r\n\r\n" +
                 (b"%x\r\n%s\r\n" % (len(chunk), chunk)) * 4000)
        try:
            raw = s.raw(flood, timeout=2)
        except (BrokenPipeError, ConnectionResetError):
            raw = b""
        check(not raw.startswith(b"HTTP/1.1 2"), raw[:100])
        eq(s.get("/healthz")[0], 200, "still up")
        eq(s.json("GET", "/api/articles")[2]["total"], 0)
        eq(s.stop(), 0)
    finally:
        s.cleanup()


def visibility(s):
    post(s, {"title": "Public", "body": "x", "published_at": "2020-01-01T00:00:00Z"})
    post(s, {"title": "Draft", "body": "x", "status": "draft"})
    post(s, {"title": "Later", "body": "x", "published_at": "2099-01-01T00:00:00+01:00"})
    lst = s.json("GET", "/api/articles")[2]
    eq([a["slug"] for a in lst["articles"]], ["public"])
    eq(s.get("/api/articles/draft")[0], 404)
    eq(s.get("/api/articles/later")[0], 404)
    # status=all needs the token
    eq(s.get("/api/articles?status=all")[0], 401)
    st, h, lst = s.json("GET", "/api/articles?status=all", auth=True)
    eq(st, 200)
    eq(sorted(a["slug"] for a in lst["articles"]), ["draft", "later", "public"])
    check("no-store" in h["cache-control"], h["cache-control"])
    eq(s.json("GET", "/api/articles/draft?status=all", auth=True)[0], 200)


def list_params(s):
    for i in range(7):
        post(s, {"title": "Story %d" % i, "body": "text number %d" % i,
                 "published_at": "2024-01-0%dT10:00:00Z" % (i + 1),
                 "tags": ["Odd" if i % 2 else "Even", "All"]})
    lst = s.json("GET", "/api/articles?per_page=3&page=2")[2]
    eq([a["slug"] for a in lst["articles"]], ["story-3", "story-2", "story-1"])
    eq((lst["page"], lst["per_page"], lst["total"], lst["pages"]), (2, 3, 7, 3))
    eq(s.json("GET", "/api/articles?per_page=3&page=9")[2]["articles"], [])
    lst = s.json("GET", "/api/articles?tag=odd")[2]
    eq([a["slug"] for a in lst["articles"]], ["story-5", "story-3", "story-1"])
    eq(s.json("GET", "/api/articles?tag=Odd")[2]["total"], 3, "tag is normalized")
    # an empty parameter is not an absent one, and must not poison the cached list
    eq(s.json("GET", "/api/articles?tag=")[2]["total"], 7, "?tag= filters nothing")
    eq(s.json("GET", "/api/articles")[2]["total"], 7)
    eq(s.get("/api/articles?page=")[0], 400)
    eq(s.get("/api/articles?per_page=")[0], 400)
    eq(s.json("GET", "/api/articles")[2]["total"], 7)
    lst = s.json("GET", "/api/articles?q=number+4")[2]
    eq([a["slug"] for a in lst["articles"]], ["story-4"])
    for q in ('"', "AND", "*", "NEAR(", "a OR", ")(", "x" * 10000):
        st, _, _ = s.request("GET", "/api/articles?q=" + __import__("urllib.parse").parse.quote(q))
        eq(st, 200, "q=%r" % q[:20])


def same_page_and_api(s):
    """The seed story published through the API is served identically by page and API."""
    status, _, a = post(s, SEED, want=None)
    eq(status, 201)
    _, _, page = s.get("/articles/" + SEED_SLUG)
    _, _, api = s.json("GET", "/api/articles/" + SEED_SLUG)
    html = page.decode()
    eq(api["title"], SEED["title"])
    check("<h1>%s</h1>" % api["title"] in html)
    check(api["body_html"].strip() in html, "body_html appears verbatim in the page")
    check('<time datetime="%s">2023-01-12 14:33</time>' % api["published_at"] in html)
    check("Source: Editor: Ye Lijiao" in html)


def concurrency(s):
    """Readers while a writer writes: every answer is complete and correct."""
    errors = []
    stop = threading.Event()

    def reader():
        c = s.conn()
        while not stop.is_set():
            try:
                st, h, b = s.get("/api/articles?per_page=100", conn=c)
                d = json.loads(b)
                if st != 200 or d["total"] != len(d["articles"]):
                    errors.append((st, b[:80]))
                st, h, b = s.get("/", conn=c)
                if st != 200 or int(h["content-length"]) != len(b):
                    errors.append((st, "front"))
            except Exception as e:  # noqa
                errors.append(repr(e))
                c = s.conn()
        c.close()

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(40):
        st, _, _ = post(s, {"title": "Concurrent %d" % i, "body": "b"}, want=None)
        if st != 201:
            errors.append(("write", st))
    stop.set()
    for t in threads:
        t.join()
    eq(errors, [])
    eq(s.json("GET", "/api/articles")[2]["total"], 40)


def rate_limit(s):
    for _ in range(10):
        eq(s.request("POST", "/api/articles", body={"title": "x", "body": "y"},
                     headers={"Authorization": "Bearer nope"})[0], 401)
    st, h, b = s.request("POST", "/api/articles", body={"title": "x", "body": "y"},
                         headers={"Authorization": "Bearer nope"})
    error_shape(st, b, 429)
    check(1 <= int(h["retry-after"]) <= 60, h)
    # the right token is also held back: the brake is per client, not per guess
    eq(post(s, {"title": "x", "body": "y"}, want=None)[0], 429)
    check("nope" not in s.access_log() and "test-token" not in s.access_log())
    check("test-token" not in s.stderr())


run([
    ("create, get, list", with_server(create_get_list)),
    ("replace and rename", with_server(replace_and_rename)),
    ("delete", with_server(delete)),
    ("error statuses 400 401 404 405 409 415 422", with_server(statuses)),
    ("403 when writes are disabled", writes_disabled),
    ("413 before the body is read", too_large),
    ("drafts and scheduled stories", with_server(visibility)),
    ("page, per_page, tag, q", with_server(list_params)),
    ("page and API serve the same story", with_server(same_page_and_api)),
    # four readers never outnumber the gate on expensive reads (threads - 1), and no read runs
    # out of its budget under valgrind: this test is about whole answers, not load shedding
    ("readers while a writer writes",
     with_server(concurrency, config={"server": {"threads": "6", "query_timeout_ms": "20000"}})),
    ("429 after repeated wrong tokens", with_server(rate_limit)),
])
