"""test_admin.py - the editor's pages (SPEC §14) over real HTTP, as a browser without script
would use them: the first admin from the setup link in the log, sessions and their cookie,
CSRF tokens, the roles of the route table (the same answers as the API), the story editor with
a picture sent as multipart/form-data, preview, scheduling, corrections, revisions, and every
refusal of bad input changing nothing."""

import html
import json
import os
import re
import sys
import time
import urllib.parse
import uuid

from harness import VALGRIND, Server, check, eq, make_image, run, server_test

BINARY = sys.argv[1]
PASSWORD = "correct horse battery"


class Browser:
    """A cookie jar and the forms of the pages it was last shown, over s's HTTP."""

    def __init__(self, s, origin=True):
        self.s = s
        self.cookies = {}
        self.origin = origin

    def headers(self, extra=None):
        h = dict(extra or {})
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        return h

    def take_cookie(self, hdrs):
        c = hdrs.get("set-cookie")
        if not c:
            return
        name, rest = c.split("=", 1)
        value = rest.split(";", 1)[0]
        if "Max-Age=0" in c:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def get(self, path):
        st, h, body = self.s.request("GET", path, headers=self.headers())
        self.take_cookie(h)
        return st, h, body.decode()

    def post(self, path, fields, files=None, csrf=True, headers=None):
        """POSTs fields (urlencoded, or multipart with files {name: (filename, type, bytes)})
        with the CSRF token the last page showed unless csrf is False or a string."""
        fields = dict(fields)
        if csrf is True:
            fields["csrf"] = self.csrf
        elif isinstance(csrf, str):
            fields["csrf"] = csrf
        h = self.headers(headers)
        if self.origin and "Origin" not in h:
            h["Origin"] = "http://127.0.0.1:%d" % self.s.port
        if files is None:
            body = urllib.parse.urlencode(fields).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            b = uuid.uuid4().hex
            parts = []
            for k, v in fields.items():
                parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n"
                              % (b, k)).encode() + v.encode() + b"\r\n")
            for k, (fn, ctype, data) in files.items():
                parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                              "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n" % (b, k, fn, ctype))
                             .encode() + data + b"\r\n")
            body = b"".join(parts) + ("--%s--\r\n" % b).encode()
            h["Content-Type"] = "multipart/form-data; boundary=" + b
        st, hdrs, data = self.s.request("POST", path, body=body, headers=h)
        self.take_cookie(hdrs)
        return st, hdrs, data.decode()

    def show(self, path):
        """GETs a page that must be 200 and keeps its CSRF token."""
        st, h, body = self.get(path)
        eq(st, 200, "GET %s: %s" % (path, body[:300]))
        m = re.search(r'name="csrf" value="([0-9a-f]*)"', body)
        self.csrf = m.group(1) if m else ""
        return body


def setup_code(s):
    m = re.search(r"create the first admin at \S+/admin/setup\?code=([0-9a-f]{32})", s.stderr())
    check(m, "the log names the setup link: " + s.stderr()[-2000:])
    return m.group(1)


def first_admin(s, handle="chief"):
    b = Browser(s)
    b.show("/admin/setup?code=" + setup_code(s))
    st, h, body = b.post("/admin/setup", {"code": setup_code(s), "handle": handle,
                                          "name": "The Chief", "password": PASSWORD,
                                          "password2": PASSWORD})
    eq(st, 303, "setup: " + body[:500])
    eq(h.get("location"), "/admin/stories")
    check("gz_session" in b.cookies, "setup signs the admin in")
    return b


def login(s, handle, password=PASSWORD):
    b = Browser(s)
    b.show("/admin/login")
    st, h, body = b.post("/admin/login", {"handle": handle, "password": password,
                                          "next": "/admin/stories"})
    eq(st, 303, "login %s: %s" % (handle, body[:300]))
    return b


def add_account(admin, handle, role):
    admin.show("/admin/accounts")
    st, h, body = admin.post("/admin/accounts", {"handle": handle, "name": handle.title(),
                                                 "role": role, "password": PASSWORD})
    eq(st, 303, "add %s: %s" % (handle, body[:300]))


def story(s, slug):
    """The story at slug as stored, any status (the command line's export), or None."""
    out = s.run_cli("export", "-c", s.config_path)
    eq(out.returncode, 0, out.stderr)
    for a in json.loads(out.stdout)["articles"]:
        if a["slug"] == slug:
            return a
    return None


def test_setup(s):
    """The log's link makes the first admin, once; nothing else can."""
    code = setup_code(s)
    eq(s.stderr().count("create the first admin"), 1, "the link is logged once")
    b = Browser(s)
    st, h, _ = b.get("/admin/")
    eq((st, h.get("location")), (303, "/admin/login"), "no session: the login page")
    body = b.show("/admin/login")
    check("There is no account yet" in body, "the login page tells where the setup link is")
    st, _, body = b.get("/admin/setup?code=" + "0" * 32)
    eq(st, 403, "a wrong code")
    st, _, body = b.get("/admin/setup")
    eq(st, 403, "no code")
    body = b.show("/admin/setup?code=" + code)
    check("gz_form" in b.cookies, "the setup form has its CSRF cookie")
    fields = {"code": code, "handle": "chief", "name": "The Chief", "password": PASSWORD,
              "password2": PASSWORD}
    st, _, _ = b.post("/admin/setup", fields, csrf=False)
    eq(st, 403, "setup without its CSRF token")
    st, _, body = b.post("/admin/setup", dict(fields, password2="something else"))
    eq(st, 422, "passwords that differ")
    check("password2" in body, "the field is named: " + body[:300])
    st, _, body = b.post("/admin/setup", dict(fields, handle="Not A Handle"))
    eq(st, 422, "a bad handle")
    check("Not A Handle" in body and "handle:" in body, "kept and named")
    st, _, body = b.post("/admin/setup", dict(fields, password="short", password2="short"))
    eq(st, 422, "a short password")
    st, h, body = b.post("/admin/setup", fields)
    eq(st, 303, "setup: " + body[:300])
    cookie = h["set-cookie"]
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age=43200"):
        check(attr in cookie, "the session cookie has %s: %s" % (attr, cookie))
    check("Secure" not in cookie, "no Secure over http (base_url is http)")
    check(re.match(r"gz_session=[0-9a-f]{64};", cookie), cookie)
    st, _, body = b.get("/admin/stories")
    eq(st, 200, "signed in")
    check("chief (admin)" in body, "who is signed in")
    eq(b.get("/admin/setup?code=" + code)[0], 404, "the link works once")
    other = Browser(s)
    st, _, _ = other.get("/admin/setup?code=" + code)
    eq(st, 404, "and never again")
    st, d = s.run_cli("user", "list").returncode, None
    out = s.run_cli("user", "list").stdout.decode()
    check("chief" in out and "admin" in out, out)
    # the setup is in the audit, without any secret
    out = s.run_cli("export", "-c", s.config_path).stdout.decode()
    check(code not in out and PASSWORD not in out, "no code or password in an export")


def test_headers(s):
    """Admin pages: never kept, never indexed, their own CSP, out of the sitemap and robots."""
    b = first_admin(s)
    for path in ("/admin/stories", "/admin/new", "/admin/accounts", "/admin/tokens",
                 "/admin/webhooks", "/admin/audit", "/admin/password"):
        st, h, body = b.get(path)
        eq(st, 200, path)
        b.show(path)
        eq(h.get("cache-control"), "private, no-store", path)
        eq(h.get("x-robots-tag"), "noindex, nofollow", path)
        # not no-referrer: a browser would send the page's forms with "Origin: null"
        eq(h.get("referrer-policy"), "same-origin", path)
        eq(h.get("content-security-policy"),
           "default-src 'self'; img-src 'self' data:; script-src 'self'; object-src 'none'; "
           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'", path)
        check('<meta name="robots" content="noindex, nofollow">' in body, path)
        check("etag" not in h and "last-modified" not in h, path)
        for m in re.finditer(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", body, re.S):
            check('name="csrf" value="' + b.csrf + '"' in m.group(1) and b.csrf,
                  "every form of %s carries the CSRF token: %s" % (path, m.group(0)[:300]))
    st, h, _ = Browser(s).get("/admin/login")
    eq((st, h.get("cache-control"), h.get("x-robots-tag")),
       (200, "private, no-store", "noindex, nofollow"), "the login page")
    st, _, sm = s.get("/sitemap.xml")
    check(b"/admin" not in sm, "no admin page in the sitemap")
    st, _, robots = s.get("/robots.txt")
    check(b"Disallow: /admin/" in robots, robots)


def test_roles(s):
    """A contributor writes drafts only, as the API's rows say; an editor publishes."""
    admin = first_admin(s)
    add_account(admin, "casey", "contributor")
    add_account(admin, "eddie", "editor")
    c = login(s, "casey")
    st, _, body = c.get("/admin/accounts")
    eq(st, 403, "a contributor on the accounts page")
    check("needs the admin role" in body, body[:400])
    for path in ("/admin/tokens", "/admin/webhooks", "/admin/audit"):
        eq(c.get(path)[0], 403, path)
    c.show("/admin/new")
    st, h, body = c.post("/admin/new", {"title": "Casey draft", "body": "Text.",
                                        "status": "published"})
    eq(st, 403, "a contributor may not publish: " + body[:300])
    check(story(s, "casey-draft") is None, "nothing stored")
    # refused with a picture: the page shown again keeps the picture the intake took
    jpeg = make_image(BINARY, "photo", 320, 180, os.path.join(s.dir, "casey.jpg"))
    st, h, body = c.post("/admin/new", {"title": "Casey draft", "body": "Text.",
                                        "status": "published", "alt": "A quay"},
                         files={"image": ("casey.jpg", "image/jpeg", jpeg)})
    eq(st, 403, body[:300])
    m = re.search(r'name="image_media" value="([^"]+)"', body)
    check(m and 'class="thumb"' in body and 'value="A quay"' in body,
          "the refused page keeps the picture: " + body[:3000])
    check(story(s, "casey-draft") is None, "still nothing stored")
    st, h, body = c.post("/admin/new", {"title": "Casey draft", "body": "Text.",
                                        "status": "draft", "image_media": m.group(1),
                                        "alt": "A quay"})
    eq(st, 303, body[:300])
    eq(h["location"], "/admin/stories/casey-draft?saved=1")
    a = story(s, "casey-draft")
    eq((a["status"], a["authors"], a["image"]["media"], a["image"]["alt"]),
       ("draft", ["casey"], m.group(1), "A quay"))
    e = login(s, "eddie")
    e.show("/admin/new")
    st, h, _ = e.post("/admin/new", {"title": "Eddie story", "body": "B.", "status": "draft"})
    eq(st, 303)
    c.show("/admin/stories")
    st, _, _ = c.get("/admin/stories/eddie-story")
    eq(st, 403, "another's draft")
    st, _, body = c.get("/admin/stories")
    check("casey-draft" in body and "eddie-story" not in body, "a contributor lists their own")
    st, _, body = e.get("/admin/stories")
    check("casey-draft" in body and "eddie-story" in body, "an editor lists all")
    eq(c.get("/admin/stories/casey-draft/revisions")[0], 403, "revisions are an editor's")
    eq(e.get("/admin/stories/casey-draft/revisions")[0], 200)
    # the API's rows say the same to the same account
    r = s.run_cli("token", "create", "casey", "-c", s.config_path)
    eq(r.returncode, 0, r.stderr)
    token = r.stdout.decode().strip()
    for path in ("/api/users", "/api/tokens", "/api/webhooks", "/api/audit"):
        st, _, data = s.json("GET", path, headers={"Authorization": "Bearer " + token})
        eq(st, 403, path)
    st, _, data = s.json("POST", "/api/articles", {"title": "Via API", "body": "x",
                                                    "status": "published"},
                         headers={"Authorization": "Bearer " + token})
    eq(st, 403, "publishing through the API: %r" % data)
    # a disabled account's session ends at once
    admin.show("/admin/accounts")
    st, _, body = admin.post("/admin/accounts/casey", {"role": "contributor", "disabled": "1"})
    eq(st, 303, body[:300])
    st, h, _ = c.get("/admin/stories")
    eq((st, h.get("location")), (303, "/admin/login?next=/admin/stories"))


def test_editor(s):
    """A story with a picture and a table, previewed, scheduled, corrected, restored."""
    admin = first_admin(s)
    # under valgrind libvips takes seconds a rendition: a small picture, and more time ahead
    w, h, ahead = (400, 225, 20) if VALGRIND else (1600, 900, 5)
    jpeg = make_image(BINARY, "photo", w, h, os.path.join(s.dir, "p.jpg"))
    admin.show("/admin/new")
    body = "Intro.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    st, h, page = admin.post("/admin/new", {"title": "Harbour opens", "body": body,
                                            "tags": "Ports, 经济", "status": "draft",
                                            "alt": "The harbour at dawn", "caption": "Dawn",
                                            "credit": "Staff"},
                             files={"image": ("p.jpg", "image/jpeg", jpeg)})
    eq(st, 303, page[:500])
    a = story(s, "harbour-opens")
    eq(a["image"]["alt"], "The harbour at dawn")
    eq(a["tags"], ["ports", "经济"])
    check("<table>" in a["body_html"], a["body_html"])
    page = admin.show("/admin/stories/harbour-opens")
    check('value="The harbour at dawn"' in page and "/media/" in page, "the picture is shown")
    check("(Asia/Shanghai; empty: now)" in page, "the time field names the site's zone")
    st, h, _ = admin.post("/admin/stories/harbour-opens/preview", {})
    eq(st, 303)
    check(h["location"].startswith("/preview/harbour-opens?expires="), h["location"])
    st, ph, pbody = s.get(h["location"])
    eq(st, 200, "the preview, in the site's own templates")
    check(b"Harbour opens" in pbody and b'class="masthead"' in pbody)
    # schedule it a few seconds ahead, in the site's zone (Asia/Shanghai in the harness)
    when = time.time() + ahead
    local = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when + 8 * 3600))
    admin.show("/admin/stories/harbour-opens")
    st, h, page = admin.post("/admin/stories/harbour-opens",
                             {"title": "Harbour opens", "body": body, "tags": "Ports, 经济",
                              "status": "published", "published_at": local,
                              "image_media": a["image"]["media"], "alt": "The harbour at dawn",
                              "caption": "Dawn", "credit": "Staff"})
    eq(st, 303, page[:500])
    eq(s.get("/articles/harbour-opens")[0], 404, "scheduled: not yet")
    page = admin.show("/admin/stories")
    check("scheduled" in page, "listed as scheduled")
    time.sleep(max(0, when - time.time()) + 1.2)
    st, _, front = s.get("/")
    check(b"Harbour opens" in front, "on the front page at its time")
    admin.show("/admin/stories/harbour-opens")
    st, h, page = admin.post("/admin/stories/harbour-opens",
                             {"title": "Harbour opens", "body": body, "tags": "Ports",
                              "status": "published", "published_at": local,
                              "image_media": a["image"]["media"], "alt": "The harbour at dawn",
                              "correction": "An earlier version misnamed the harbour."})
    eq(st, 303, page[:500])
    a = story(s, "harbour-opens")
    eq([c["text"] for c in a["corrections"]], ["An earlier version misnamed the harbour."])
    st, _, spage = s.get("/articles/harbour-opens")
    check(b"misnamed the harbour" in spage, "the correction on the page")
    page = admin.show("/admin/stories/harbour-opens/revisions")
    check("Restore revision 1" in page, page[:800])
    st, h, _ = admin.post("/admin/stories/harbour-opens/revisions/1/restore", {})
    eq(st, 303)
    a = story(s, "harbour-opens")
    eq((a["status"], a["tags"]), ("draft", ["ports", "经济"]), "revision 1 is back")
    # a picture too large for an edit: 413, the text saved, the old picture and its texts kept
    admin.show("/admin/stories/harbour-opens")
    big = b"\xff\xd8\xff\xe0" + b"\0" * (21 * 1024 * 1024)
    st, h, page = admin.post("/admin/stories/harbour-opens",
                             {"title": "Harbour opens again", "body": body, "status": "draft",
                              "image_media": a["image"]["media"], "alt": "A new picture's alt",
                              "caption": "New", "credit": "New"},
                             files={"image": ("big.jpg", "image/jpeg", big)})
    eq(st, 413, page[:300])
    b = story(s, "harbour-opens")
    eq((b["title"], b["image"]["media"], b["image"]["alt"], b["image"]["caption"]),
       ("Harbour opens again", a["image"]["media"], "The harbour at dawn", "Dawn"))
    eq([c["text"] for c in a["corrections"]], ["An earlier version misnamed the harbour."],
       "a restore keeps the corrections: they are the public record")
    st, h, _ = admin.post("/admin/logout", {})
    eq((st, h["location"]), (303, "/admin/login"))


def test_bad_input(s):
    """Each refusal changes nothing."""
    admin = first_admin(s)
    add_account(admin, "other", "editor")
    other = login(s, "other")
    admin.show("/admin/new")
    # CSRF: none, another session's, the form cookie's of another reader
    for csrf in (False, other.csrf, "0" * 64, ""):
        st, _, body = admin.post("/admin/new", {"title": "Forged", "body": "x"}, csrf=csrf)
        eq(st, 403, "csrf %r" % csrf)
    check(story(s, "forged") is None, "nothing stored")
    # a cross-site form post carries its own site's Origin
    for h in ({"Origin": "https://evil.example"}, {"Origin": "null"},
              {"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://127.0.0.1.evil.example"}):
        st, _, _ = admin.post("/admin/new", {"title": "Forged", "body": "x"}, headers=h)
        eq(st, 403, "cross-site %r" % h)
    check(story(s, "forged") is None, "nothing stored")
    # HTML in every field comes back escaped, on every page that shows it
    evil = '<script>alert(1)</script>"\'&'
    st, h, page = admin.post("/admin/new", {"title": "T " + evil, "body": evil,
                                            "summary": evil, "tags": "x" + evil,
                                            "status": "draft", "slug": "evil"})
    eq(st, 303, page[:400])
    for path in ("/admin/stories", "/admin/stories/evil", "/admin/stories/evil/revisions"):
        page = admin.show(path)
        check("<script>alert" not in page, "escaped on " + path)
    st, _, page = admin.post("/admin/new", {"title": evil, "body": "", "slug": "Bad Slug"})
    eq(st, 422)
    check("<script>alert" not in page and html.escape(evil, quote=True)[:20] in page,
          "a refused form's values are shown escaped")
    admin.show("/admin/accounts")
    st, _, page = admin.post("/admin/accounts", {"handle": "x", "name": evil, "role": "editor",
                                                 "password": PASSWORD})
    eq(st, 303)
    page = admin.show("/admin/accounts")
    check("<script>alert" not in page, "an account's name, escaped")
    page = admin.show("/admin/audit")
    check("<script>alert" not in page, "the audit, escaped")
    # a 21 MiB picture through the form: 413, and the story's text kept
    big = b"\xff\xd8\xff\xe0" + b"\0" * (21 * 1024 * 1024)
    admin.show("/admin/new")
    st, h, page = admin.post("/admin/new", {"title": "Keeps its text", "body": "Long work.",
                                            "status": "draft", "alt": "x"},
                             files={"image": ("big.jpg", "image/jpeg", big)})
    eq(st, 413, page[:300])
    check("larger than 20 MiB" in page and "Keeps its text" in page, page[:1500])
    a = story(s, "keeps-its-text")
    check(a and a["body"] == "Long work." and "image" not in a or a["image"] is None,
          "the text saved, no picture: %r" % a)
    # a form that is not one
    st, _, _ = s.request("POST", "/admin/new", body=b"{}", headers=admin.headers(
        {"Content-Type": "application/json", "Origin": "http://127.0.0.1:%d" % s.port}))
    eq(st, 415)
    # eleven wrong passwords from one address: 429 with Retry-After
    b = Browser(s)
    b.show("/admin/login")
    for i in range(10):
        st, _, _ = b.post("/admin/login", {"handle": "chief", "password": "wrong%d" % i})
        eq(st, 403, "wrong password %d" % i)
    st, h, body = b.post("/admin/login", {"handle": "chief", "password": PASSWORD})
    eq(st, 429, "the eleventh, even right")
    check(int(h["retry-after"]) >= 1, h)
    # a session replayed after logout, and one that never was
    cookie = dict(other.cookies)
    other.show("/admin/stories")
    st, _, _ = other.post("/admin/logout", {})
    eq(st, 303)
    replay = Browser(s)
    replay.cookies = cookie
    st, h, _ = replay.get("/admin/stories")
    eq((st, h.get("location")), (303, "/admin/login?next=/admin/stories"), "after logout")
    check("Max-Age=0" in h.get("set-cookie", ""), "the dead cookie is removed")
    st, h, _ = replay.post("/admin/new", {"title": "Replayed", "body": "x"}, csrf=other.csrf)
    eq((st, h.get("location")), (303, "/admin/login"))
    check(story(s, "replayed") is None, "nothing stored")
    replay.cookies = {"gz_session": "f" * 64}
    eq(replay.get("/admin/stories")[0], 303, "an unknown session")
    replay.cookies = {"gz_session": "x" * 5000}
    eq(replay.get("/admin/stories")[0], 303, "a huge one")
    # only a page of the editor's after signing in: never another site
    b2 = Browser(s)
    b2.show("/admin/login")
    time.sleep(0)  # the limiter counts per address; this client is the same one: skip


def test_expired(s):
    """A session past its time is the login page (the store's expiry, set back by SQL)."""
    b = first_admin(s)
    import sqlite3
    db = sqlite3.connect(os.path.join(s.dir, "gazette.db"))
    rows = db.execute("SELECT key, doc FROM docs WHERE kind = 'session'").fetchall()
    eq(len(rows), 1, "one session stored, by its hash")
    key, doc = rows[0]
    check(b.cookies["gz_session"] not in key and b.cookies["gz_session"] not in doc,
          "the cookie itself is never stored")
    d = json.loads(doc)
    d["expires"] = int(time.time()) - 1
    db.execute("UPDATE docs SET doc = ? WHERE kind = 'session'", (json.dumps(d),))
    db.commit()
    db.close()
    st, h, _ = b.get("/admin/stories")
    eq((st, h.get("location")), (303, "/admin/login?next=/admin/stories"), "expired")


def test_password(s):
    b = first_admin(s)
    other = login(s, "chief")  # the same account, signed in elsewhere
    eq(other.get("/admin/stories")[0], 200)
    b.show("/admin/password")
    st, _, body = b.post("/admin/password", {"current": "wrong one!!", "password": "x" * 12,
                                             "password2": "x" * 12})
    eq(st, 403)
    st, _, body = b.post("/admin/password", {"current": PASSWORD, "password": "new password 1",
                                             "password2": "new password 2"})
    eq(st, 422)
    st, h, _ = b.post("/admin/password", {"current": PASSWORD, "password": "new password 1",
                                          "password2": "new password 1"})
    eq((st, h["location"]), (303, "/admin/password?done=1"))
    check("gz_session=" in h.get("set-cookie", ""), "a new session for the one who changed it")
    page = b.show("/admin/password?done=1")
    check("Your password was changed" in page, page[:500])
    st, h, _ = other.get("/admin/stories")
    eq((st, h.get("location")), (303, "/admin/login?next=/admin/stories"),
       "the other session ended with the old password")
    login(s, "chief", "new password 1")
    # an admin's reset of another's password through the API ends their sessions too
    add_account(b, "eddie", "editor")
    e = login(s, "eddie")
    eq(e.get("/admin/stories")[0], 200)
    r = s.run_cli("token", "create", "chief", "-c", s.config_path)
    eq(r.returncode, 0, r.stderr)
    st, _, data = s.json("PATCH", "/api/users/eddie", {"password": "reset by the chief"},
                         headers={"Authorization": "Bearer " + r.stdout.decode().strip()})
    eq(st, 200, data)
    eq(e.get("/admin/stories")[0], 303, "eddie's session ended with the reset")
    eq(b.get("/admin/stories")[0], 200, "the chief's own session goes on")
    login(s, "eddie", "reset by the chief")


if __name__ == "__main__":
    no_token = {"token": None}
    run([
        ("the first admin from the setup link", server_test(BINARY, test_setup, token=None)),
        ("private, noindex, their own CSP", server_test(BINARY, test_headers, token=None)),
        ("roles as the route table says", server_test(BINARY, test_roles, token=None)),
        ("a story with a picture, scheduled, corrected, restored",
         server_test(BINARY, test_editor, token=None)),
        ("bad input changes nothing", server_test(BINARY, test_bad_input, token=None)),
        ("an expired session", server_test(BINARY, test_expired, token=None, sqlite=True)),
        ("a password change", server_test(BINARY, test_password, token=None)),
    ])
