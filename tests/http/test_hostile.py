r"""test_hostile.py - hostile and malformed HTTP on raw sockets against the real binary: request
smuggling, broken framing, oversized requests, NUL and invalid UTF-8 in the target, encoded
traversal, unknown methods and protocols, pipelining, dribbled requests, Expect: 100-continue.
After every attack a GET /healthz on a new connection answers 200 and the process still runs.

What the server does (build of 10822de, libmicrohttpd 0.9.75, which parses requests). "closed":
the server closes the connection after the answer. Rows marked FAILS break the rule the test
asserts (RFC 9112, issue 8); the test says why.

| input                                | answer                                                  |
|--------------------------------------|---------------------------------------------------------|
| two Content-Length, 5 and 7 (or 7    | FAILS: the first one is used and the handler answers    |
| and 5)                               | (401), the connection stays open, the 2 bytes left over |
|                                      | begin the next request; with a token: 201, stored       |
| Content-Length "5, 7", "abc", "-1",  | 400, closed (libmicrohttpd sends its header block       |
| "0x10", "5 5"                        | twice, then the body)                                   |
| Content-Length                       | 413, closed (the same doubled header block)             |
| 99999999999999999999999              |                                                         |
| Content-Length + Transfer-Encoding:  | FAILS: chunked wins and the connection stays open: the  |
| chunked, either order, a GET hidden  | hidden GET is answered (401, then 200)                  |
| after 0\r\n\r\n                      |                                                         |
| chunked + a short Content-Length     | FAILS: 401, the connection stays open                   |
| chunk size zz, -1e, no CRLF after    | 400 (libmicrohttpd's HTML), closed                      |
| the size or after the data           |                                                         |
| chunk size FFFFFFFFFFFFFFFFFF        | 413 (libmicrohttpd's HTML), closed                      |
| 100 KB request target                | 414, closed                                             |
| one 64 KB header                     | 431, closed                                             |
| 10,000 headers                       | 431, closed                                             |
| raw NUL in the target                | FAILS: the target ends at the NUL: /healthz\0junk is    |
|                                      | 200, /api/\0articles 404, /static/style.css\0.png       |
|                                      | serves style.css                                        |
| %00 in the target                    | 400 JSON {"error":{"status":400,...}}                   |
| raw \xff, %ff, %c3%28 in the path    | 404 (the HTML page; JSON under /api/)                   |
| %ff or raw \xff in ?q= or ?tag=      | 400 (HTML for /search, JSON for /api/articles)          |
| %c0%ae%c0%ae, %e0%80%ae, %2e%2e,     | 404; nothing outside static/ is served                  |
| .%2e, %252e%252e, %25c0%25ae under   |                                                         |
| /static/                             |                                                         |
| FOO or BREW on a route               | 405 with the route's Allow                              |
| FOO or BREW on an unknown path       | 404                                                     |
| HTTP/0.9: GET /\r\n                  | 400 (libmicrohttpd's HTML), closed                      |
| HTTP/2 preface, alone or with a      | 505, closed                                             |
| SETTINGS frame                       |                                                         |
| 3 GETs in one write                  | 3 answers in order; the connection stays open           |
| a request written one byte per       | answered as usual (GET 200, POST 201)                   |
| send()                               |                                                         |
| POST with Expect: 100-continue       | 100 Continue, then 201 once the body arrived            |
| Expect: 100-continue with Content-   | 413 at once, no 100 Continue                            |
| Length over the maximum              |                                                         |
"""

import json
import os
import socket
import sys
import time

from harness import Server, check, eq, exchange, parse_responses, run, server_test

BINARY = sys.argv[1]
TOKEN = "test-token"


def with_server(fn, **kw):
    return server_test(BINARY, fn, **kw)


def each(cases, fn):
    """Runs fn on every case and fails afterwards with every case that failed, so one run
    reports all of them."""
    errors = []
    for case in cases:
        try:
            fn(case)
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        raise AssertionError("%d of %d cases failed:\n  " % (len(errors), len(cases)) +
                             "\n  ".join(errors))


def still_up(s, what):
    """The server survived: the process runs and /healthz answers on a new connection."""
    check(s.proc.poll() is None, "the server exited (%r) after %s" % (s.proc.returncode, what))
    st, _, body = s.get("/healthz")
    eq(st, 200, "GET /healthz after %s" % what)
    eq(json.loads(body)["status"], "ok")


def rejected(res, allowed, what):
    """The request was refused: one answer with an allowed status and nothing after it, or the
    connection closed with no answer at all."""
    check(not res.partial, "%s: a truncated response: %r" % (what, res))
    if not res.responses:
        check(res.closed, "%s: no answer and the connection is still open: %r" % (what, res))
        return
    eq(len(res.responses), 1, "%s: number of responses (%r)" % (what, res))
    check(res.statuses()[0] in allowed,
          "%s: status %d, want one of %s or a closed connection: %r"
          % (what, res.statuses()[0], sorted(allowed), res))


def not_smuggled(res, hidden_marker, what):
    """A request hidden in a body must never be answered: the outer request is refused (400),
    or answered once and then the connection is closed (RFC 9112 6.1), or closed unanswered."""
    check(hidden_marker not in res.raw, "%s: the hidden request was answered: %r" % (what, res))
    check(len(res.responses) <= 1, "%s: %d responses to one request: %r"
          % (what, len(res.responses), res))
    if res.responses and res.statuses()[0] != 400:
        check(res.closed, "%s: answered %d and kept the connection open after a request with "
              "both Content-Length and Transfer-Encoding: %r" % (what, res.statuses()[0], res))
    if not res.responses:
        check(res.closed, "%s: no answer, connection open: %r" % (what, res))


def req(line, headers=(), body=b""):
    head = line.encode("latin-1") if isinstance(line, str) else line
    for h in headers:
        head += b"\r\n" + (h.encode("latin-1") if isinstance(h, str) else h)
    return head + b"\r\n\r\n" + body


JSON_AUTH = ("Host: x", "Authorization: Bearer " + TOKEN, "Content-Type: application/json")


def duplicate_content_length(s):
    body = b'{"title":"a","body":"b"}'
    cases = [
        ("Content-Length 5 and 7", ("Host: x", "Content-Length: 5", "Content-Length: 7"),
         b"hello12"),
        ("Content-Length 7 and 5", ("Host: x", "Content-Length: 7", "Content-Length: 5"),
         b"hello12"),
        # with a valid token and JSON either length makes a request the handler would take
        ("Content-Length %d and 5 with a valid token" % len(body),
         JSON_AUTH + ("Content-Length: %d" % len(body), "Content-Length: 5"), body),
    ]

    def case(c):
        what, headers, data = c
        res = exchange(s, req("POST /api/articles HTTP/1.1", headers, data), grace=1.0,
                       timeout=3)
        rejected(res, {400}, what)
        still_up(s, what)
    each(cases, case)
    eq(s.json("GET", "/api/articles")[2]["total"], 0, "no article from an ambiguous request")


def invalid_content_length(s):
    """libmicrohttpd refuses these itself (0.9.75 sends the error's header block twice, then the
    body): the first status line and the close are what is checked."""
    def case(value):
        data = req("POST /api/articles HTTP/1.1", ("Host: x", "Content-Length: " + value),
                   b"hello12")
        res = exchange(s, data, grace=1.0, timeout=3)
        check(res.closed, "Content-Length: %s: connection left open: %r" % (value, res))
        check(res.raw[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 413") or not res.raw,
              "Content-Length: %s: %r" % (value, res))
        check(b"HTTP/1.1 401" not in res.raw and b"HTTP/1.1 2" not in res.raw, res)
        still_up(s, "Content-Length: " + value)
    each(["5, 7", "abc", "-1", "99999999999999999999999", "0x10", "5 5"], case)


def content_length_with_chunked(s):
    hidden = b"GET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    marker = b"User-agent"  # robots.txt's first line: only there if the hidden GET ran
    check(marker in s.get("/robots.txt")[2], "robots.txt has the marker")
    end = b"0\r\n\r\n"
    cases = [
        # CL.TE: a front end that trusts Content-Length passes it all on as one request
        ("Content-Length then chunked",
         ("Host: x", "Content-Length: %d" % (len(end) + len(hidden)),
          "Transfer-Encoding: chunked"), end + hidden),
        ("chunked then Content-Length",
         ("Host: x", "Transfer-Encoding: chunked",
          "Content-Length: %d" % (len(end) + len(hidden))), end + hidden),
        # TE.CL: a short Content-Length, the hidden request inside a chunk
        ("chunked with a short Content-Length",
         ("Host: x", "Transfer-Encoding: chunked", "Content-Length: 4"),
         b"%x\r\n" % len(hidden) + hidden + b"\r\n" + end),
        # a valid write with both headers must not be half-processed either
        ("chunked and Content-Length with a valid token",
         JSON_AUTH + ("Content-Length: %d" % (len(end) + len(hidden)),
                      "Transfer-Encoding: chunked"), end + hidden),
    ]

    def case(c):
        what, headers, body = c
        res = exchange(s, req("POST /api/articles HTTP/1.1", headers, body), grace=1.0)
        not_smuggled(res, marker, what)
        still_up(s, what)
    each(cases, case)


def bad_chunk_sizes(s):
    body = b'{"title":"chunked","body":"b"}'
    cases = [
        ("non-hex size", b"zz\r\n" + body + b"\r\n0\r\n\r\n", {400}),
        ("negative size", b"-%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n", {400}),
        ("huge size", b"FFFFFFFFFFFFFFFFFF\r\n" + body + b"\r\n0\r\n\r\n", {400, 413}),
        ("missing CRLF after the data", b"%x\r\n" % len(body) + body + b"XX0\r\n\r\n", {400}),
        ("size without CRLF", b"%x" % len(body) + body + b"\r\n0\r\n\r\n", {400}),
    ]

    def case(c):
        what, chunks, allowed = c
        data = req("POST /api/articles HTTP/1.1", JSON_AUTH + ("Transfer-Encoding: chunked",),
                   chunks)
        res = exchange(s, data, grace=1.0)
        rejected(res, allowed, what)
        still_up(s, what)
    each(cases, case)
    # a well-formed chunked POST works, so the refusals above were about the framing
    good = req("POST /api/articles HTTP/1.1", JSON_AUTH + ("Transfer-Encoding: chunked",
                                                          "Connection: close"),
               b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    res = exchange(s, good)
    eq(res.statuses(), [201], "well-formed chunked POST")
    eq(s.json("GET", "/api/articles")[2]["total"], 1, "only the good chunked POST stored")


def long_target(s):
    data = b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    res = exchange(s, data)
    rejected(res, {414, 400, 431}, "100 KB request target")
    still_up(s, "100 KB request target")


def big_header(s):
    data = req("GET / HTTP/1.1", ("Host: x", "X-Big: " + "a" * 65536))
    res = exchange(s, data)
    rejected(res, {431, 400, 413}, "64 KB header")
    still_up(s, "64 KB header")


def many_headers(s):
    data = req("GET / HTTP/1.1", ("Host: x",) + tuple("X-H%d: v" % i for i in range(10000)))
    res = exchange(s, data)
    rejected(res, {431, 400, 413}, "10,000 headers")
    still_up(s, "10,000 headers")


def raw_nul(s):
    def case(target):
        res = exchange(s, req(b"GET " + target + b" HTTP/1.1", ("Host: x",)))
        rejected(res, {400}, "raw NUL in %r" % target)
        still_up(s, "raw NUL in %r" % target)
    # the last one would serve style.css for a name that is not style.css
    each([b"/healthz\x00junk", b"/api/\x00articles", b"/static/style.css\x00.png"], case)


def encoded_nul(s):
    def case(target):
        res = exchange(s, req("GET %s HTTP/1.1" % target, ("Host: x", "Connection: close")))
        eq(res.statuses(), [400], "%s (%r)" % (target, res))
        status, headers, body = res.responses[0]
        check(headers["content-type"].startswith("application/json"), headers)
        err = json.loads(body)["error"]
        eq(err["status"], 400, target)
        check(isinstance(err["message"], str) and err["message"], err)
        still_up(s, target)
    each(["/healthz%00", "/static/style.css%00.png", "/api/articles/x%00y", "/articles/x%00",
          "/search?q=a%00b"], case)


def invalid_utf8(s):
    def case(target):
        res = exchange(s, req(b"GET " + target + b" HTTP/1.1", ("Host: x", "Connection: close")))
        eq(len(res.responses), 1, "%r: one answer (%r)" % (target, res))
        status, headers, body = res.responses[0]
        check(status in (400, 404), "%r: status %d, want 400 or 404" % (target, status))
        check(b"\xff" not in body and b"\xfe" not in body, "%r: raw bytes echoed" % target)
        still_up(s, repr(target))
    each([b"/articles/\xff", b"/articles/%ff", b"/articles/%c3%28", b"/\xff\xfe", b"/%ff",
          b"/tags/%ff", b"/tags/\xff", b"/static/%ff", b"/static/\xff.css",
          b"/api/articles/%ff%fe", b"/api/articles/\xff", b"/search?q=%ff", b"/search?q=\xff",
          b"/api/articles?q=%ff", b"/api/articles?tag=%ff%fe", b"/?page=%ff"], case)


def encoded_traversal(s):
    with open(os.path.join(s.dir, "secret.txt"), "w") as f:
        f.write("top secret")
    os.makedirs(os.path.join(s.dir, "static", "sub"))
    eq(s.get("/static/style.css")[0], 200, "the static route works")

    def case(target):
        res = exchange(s, req("GET %s HTTP/1.1" % target, ("Host: x", "Connection: close")))
        eq(len(res.responses), 1, "%s: one answer (%r)" % (target, res))
        status, _, body = res.responses[0]
        check(status in (400, 404), "%s: status %d" % (target, status))
        check(b"top secret" not in body and b"root:" not in body, "%s leaked a file" % target)
        still_up(s, target)
    each(["/static/%c0%ae%c0%ae/secret.txt", "/static/%c0%ae%c0%ae%c0%afsecret.txt",
          "/static/..%c0%afsecret.txt", "/static/%e0%80%ae%e0%80%ae/secret.txt",
          "/static/sub/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt",
          "/static/%2e%2e/secret.txt", "/static/%2E%2E%2fsecret.txt",
          "/static/.%2e/secret.txt", "/static/sub/%2e%2e/%2e%2e/secret.txt",
          "/static/%252e%252e/secret.txt", "/static/%252e%252e%252fsecret.txt",
          "/static/%25c0%25ae%25c0%25ae/secret.txt",
          "/static/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
          "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
          "/static/%252e%252e/%252e%252e/%252e%252e/%252e%252e/etc/passwd"], case)


def unknown_methods(s):
    routes = {"/": "GET, HEAD", "/healthz": "GET, HEAD", "/static/style.css": "GET, HEAD",
              "/articles/some-story": "GET, HEAD", "/api/articles": "GET, HEAD, POST",
              "/api/articles/some-story": "GET, HEAD, PUT, DELETE"}

    def known(c):
        method, path = c
        res = exchange(s, req("%s %s HTTP/1.1" % (method, path), ("Host: x", "Connection: close")))
        eq(len(res.responses), 1, "%s %s: one answer (%r)" % (method, path, res))
        status, headers, _ = res.responses[0]
        if status != 501:
            eq(status, 405, "%s %s" % (method, path))
            eq(headers.get("allow"), routes[path], "%s %s: Allow" % (method, path))
        still_up(s, "%s %s" % (method, path))

    def unknown(c):
        method, path = c
        res = exchange(s, req("%s %s HTTP/1.1" % (method, path), ("Host: x", "Connection: close")))
        eq(len(res.responses), 1, "%s %s: one answer (%r)" % (method, path, res))
        check(res.statuses()[0] in (404, 501), "%s %s: %r" % (method, path, res))
        still_up(s, "%s %s" % (method, path))
    each([(m, p) for m in ("FOO", "BREW") for p in routes], known)
    each([(m, p) for m in ("FOO", "BREW") for p in ("/nope", "/api/nope", "/articles/a/b")],
         unknown)


def http09(s):
    for data in (b"GET /\r\n", b"GET /\r\n\r\n", b"GET /healthz\r\n"):
        res = exchange(s, data, timeout=3)
        # an HTTP/0.9 answer (a bare body, no status line) shows as a partial response
        rejected(res, {400, 505}, "HTTP/0.9 %r" % data)
        still_up(s, "HTTP/0.9")


def http2_preface(s):
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an empty SETTINGS frame
    for data in (preface, preface + settings):
        res = exchange(s, data, timeout=3)
        check(not res.partial, "a truncated response: %r" % res)
        if res.responses:
            eq(len(res.responses), 1, "one answer: %r" % res)
            st = res.statuses()[0]
            check(400 <= st < 500 or st == 505, "HTTP/2 preface: status %d" % st)
        else:
            check(res.closed, "no answer, connection open: %r" % res)
        still_up(s, "HTTP/2 preface")


def pipelined(s):
    data = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /api/articles HTTP/1.1\r\nHost: x\r\n\r\n")
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    try:
        sock.sendall(data)  # one write
        buf = b""
        deadline = time.time() + 5
        while len(parse_responses(buf)[0]) < 3 and time.time() < deadline:
            chunk = sock.recv(65536)
            check(chunk, "connection closed after %d responses" % len(parse_responses(buf)[0]))
            buf += chunk
        resps, left = parse_responses(buf)
        eq([r[0] for r in resps], [200, 200, 200], "three answers")
        eq(left, b"", "nothing after the third answer")
        eq(json.loads(resps[0][2])["status"], "ok", "first answer is /healthz")
        check(resps[1][1]["content-type"].startswith("text/plain") and b"User-agent" in
              resps[1][2], "second answer is /robots.txt")
        eq(json.loads(resps[2][2])["total"], 0, "third answer is /api/articles")
        # the same connection serves a fourth request afterwards
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        buf = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        eq([r[0] for r in parse_responses(buf)[0]], [200], "fourth request, same connection")
    finally:
        sock.close()
    still_up(s, "pipelined requests")


def byte_by_byte(s):
    get = b"GET /api/articles?per_page=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    res = exchange(s, None, pieces=[get[i:i + 1] for i in range(len(get))], delay=0.002)
    eq(res.statuses(), [200], "GET sent a byte at a time (%r)" % res)
    eq(json.loads(res.responses[0][2])["per_page"], 5)
    body = b'{"title":"Dribbled","body":"one byte at a time"}'
    post = req("POST /api/articles HTTP/1.1", JSON_AUTH + ("Content-Length: %d" % len(body),
                                                          "Connection: close"), body)
    res = exchange(s, None, pieces=[post[i:i + 1] for i in range(len(post))], delay=0.002)
    eq(res.statuses(), [201], "POST sent a byte at a time (%r)" % res)
    eq(json.loads(res.responses[0][2])["slug"], "dribbled")
    eq(s.get("/api/articles/dribbled")[0], 200)
    # a request split in a few uneven writes, across the header/body boundary
    post = post.replace(b"Dribbled", b"Split up").replace(b"at a time", b"in pieces")
    cuts = [0, 3, 17, len(post) - len(body) - 1, len(post) - 5, len(post)]
    res = exchange(s, None, pieces=[post[a:b] for a, b in zip(cuts, cuts[1:])], delay=0.05)
    eq(res.statuses(), [201], "POST in uneven pieces (%r)" % res)
    still_up(s, "dribbled requests")


def expect_continue(s):
    body = b'{"title":"Expected","body":"after 100 Continue"}'
    head = req("POST /api/articles HTTP/1.1", JSON_AUTH + ("Content-Length: %d" % len(body),
                                                          "Expect: 100-continue"))
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    try:
        sock.sendall(head)
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = sock.recv(4096)
            check(chunk, "closed before 100 Continue")
            interim += chunk
        check(interim.startswith(b"HTTP/1.1 100 "), interim)
        rest = interim[interim.index(b"\r\n\r\n") + 4:]
        eq(rest, b"", "nothing but 100 Continue before the body")
        sock.sendall(body)
        buf = b""
        while not parse_responses(buf)[0]:
            chunk = sock.recv(65536)
            check(chunk, "closed before the answer")
            buf += chunk
        status, headers, data = parse_responses(buf)[0][0]
        eq(status, 201, "POST after 100 Continue")
        eq(headers["location"], "/api/articles/expected")
    finally:
        sock.close()
    eq(s.get("/api/articles/expected")[0], 200)
    # over the body limit: refused without inviting the body
    big = 1048577
    head = req("POST /api/articles HTTP/1.1", JSON_AUTH + ("Content-Length: %d" % big,
                                                          "Expect: 100-continue"))
    res = exchange(s, head, grace=1.0)
    eq(res.statuses(), [413], "Expect: 100-continue over max_body_bytes (%r)" % res)
    check(b"HTTP/1.1 100" not in res.raw, "100 Continue for a body that will be refused")
    still_up(s, "Expect: 100-continue")


run([
    ("duplicate Content-Length -> 400 or close", with_server(duplicate_content_length)),
    ("invalid Content-Length -> 400/413 and close", with_server(invalid_content_length)),
    ("Content-Length with chunked: nothing smuggled", with_server(content_length_with_chunked)),
    ("bad chunk sizes -> 400/413 or close", with_server(bad_chunk_sizes)),
    ("100 KB request target -> 414 or close", with_server(long_target)),
    ("64 KB header -> 431 or close", with_server(big_header)),
    ("10,000 headers -> 431 or close", with_server(many_headers)),
    ("raw NUL in the target -> 400 or close", with_server(raw_nul)),
    ("%00 in the target -> JSON 400", with_server(encoded_nul)),
    ("invalid UTF-8 in the target -> 400/404", with_server(invalid_utf8)),
    ("overlong and double encodings stay in static", with_server(encoded_traversal)),
    ("unknown methods -> 405 with Allow, or 404", with_server(unknown_methods)),
    ("HTTP/0.9 -> 400/505 or close", with_server(http09)),
    ("HTTP/2 preface -> 4xx/505 or close", with_server(http2_preface)),
    ("three pipelined GETs -> three answers in order", with_server(pipelined)),
    ("requests written a byte at a time", with_server(byte_by_byte)),
    ("Expect: 100-continue", with_server(expect_continue)),
])
