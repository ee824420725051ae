"""test_newsroom.py - SPEC §11 against the real binary: accounts and tokens, the three roles,
authors and author pages, corrections, revisions and restore, renamed slugs, the audit log,
signed preview links, the rate limiter with accounts, export/import of the newsroom, and the
README's first write working as printed. Every answer of a run is kept and searched for the
tokens and passwords it used, and so is the database."""

import glob
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pg
from harness import Server, SOURCE_ROOT, check, eq, post, run

BINARY = sys.argv[1]
BOOT = "boot-token-0123456789abcdef"
PASSWORD = "a long and secret passphrase"

# every answer body of the run, but the ones that hand a new token over (they must hold it)
ANSWERS = []


class Newsroom:
    """One server with an admin, an editor and a contributor (alice), each with a token."""

    def __init__(self, config=None, **kw):
        self.s = Server(BINARY, token=BOOT, config=config, **kw)
        self.s.start()
        self.tokens = {}
        self.ids = {}
        for handle, role in (("root", "admin"), ("ed", "editor"), ("alice", "contributor"),
                             ("bob", "contributor")):
            self.account(handle, role, auth=self.tokens.get("root", BOOT))

    def call(self, method, path, body=None, who=None, headers=None, keep=True, timeout=10):
        h = dict(headers or {})
        if who is not None:
            h["Authorization"] = "Bearer " + (self.tokens.get(who) or who)
        conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=timeout)
        try:
            status, hdrs, data = self.s.request(method, path, body=body, headers=h, conn=conn)
        finally:
            conn.close()
        if keep:
            ANSWERS.append(data)
        return status, hdrs, (json.loads(data) if data and data[:1] in b"{[" else data)

    def account(self, handle, role, auth):
        status, _, a = self.call("POST", "/api/users",
                                 {"handle": handle, "name": handle.title() + " Example",
                                  "role": role}, who=auth)
        eq(status, 201, "account %s: %r" % (handle, a))
        self.tokens[handle] = self.new_token(handle)

    def new_token(self, handle, **opts):
        status, h, t = self.call("POST", "/api/users/%s/tokens" % handle, opts or None,
                                 who=self.tokens.get("root", BOOT), keep=False)
        eq(status, 201, "token of %s: %r" % (handle, t))
        eq(h.get("location"), "/api/tokens/%d" % t["id"])
        eq(h.get("cache-control"), "no-store")
        check(re.fullmatch(r"gz_[A-Za-z0-9_-]{43}", t["token"]), t["token"])
        eq(t["prefix"], t["token"][:8])
        self.ids[t["token"]] = t["id"]
        return t["token"]

    def write(self, who, body, method="POST", slug=None, want=201, timeout=10):
        path = "/api/articles" + ("/" + slug if slug else "")
        status, _, a = self.call(method, path, body, who=who, timeout=timeout)
        if want is not None:
            eq(status, want, "%s %s by %s: %r" % (method, path, who, a))
        return a if want is not None else (status, a)

    def stop(self):
        eq(self.s.stop(), 0, "exit status")

    def cleanup(self):
        self.s.cleanup()


def newsroom_test(fn, **kw):
    def test():
        n = Newsroom(**kw)
        try:
            fn(n)
            n.stop()
        finally:
            n.cleanup()
    return test


def bootstrap_and_tokens(n):
    # before any account the configured token was the admin "config"; now it is not
    eq(n.call("GET", "/api/me", who=BOOT)[0], 401, "auth.token after the first account")
    status, _, me = n.call("GET", "/api/me", who="alice")
    eq(status, 200)
    eq((me["handle"], me["role"], me["account"]), ("alice", "contributor", True))
    check("password" not in me)
    # spaces around the token are not part of it
    status, _, _ = n.call("GET", "/api/me",
                          headers={"Authorization": "Bearer   %s  " % n.tokens["ed"]})
    eq(status, 200, "token with spaces around it")
    # revoked
    spare = n.new_token("ed", name="spare")
    eq(n.call("GET", "/api/me", who=spare)[0], 200)
    tid = n.ids[spare]
    eq(n.call("DELETE", "/api/tokens/%d" % tid, who="root")[0], 204)
    status, h, e = n.call("GET", "/api/me", who=spare)
    eq(status, 401, "a revoked token")
    eq(h.get("www-authenticate"), "Bearer")
    eq(n.call("DELETE", "/api/tokens/%d" % tid, who="root")[0], 409, "revoked twice")
    eq(n.call("DELETE", "/api/tokens/99999", who="root")[0], 404)
    # the list names every token, never its secret or hash
    status, _, lst = n.call("GET", "/api/tokens", who="root")
    eq(status, 200)
    mine = [t for t in lst["tokens"] if t["id"] == tid][0]
    check(mine["revoked_at"] and mine["name"] == "spare", mine)
    check(all(set(t) == {"id", "account", "name", "prefix", "created_at", "expires_at",
                         "last_used_at", "revoked_at"} for t in lst["tokens"]), lst)
    used = [t for t in lst["tokens"] if t["account"] == "alice"][0]
    check(used["last_used_at"], "last_used_at is written: %r" % used)
    # a disabled account's tokens
    status, _, a = n.call("PATCH", "/api/users/bob", {"disabled": True}, who="root")
    eq((status, a["disabled"]), (200, True))
    eq(n.call("GET", "/api/me", who="bob")[0], 401, "a disabled account's token")
    n.call("PATCH", "/api/users/bob", {"disabled": False}, who="root")
    eq(n.call("GET", "/api/me", who="bob")[0], 200, "enabled again")
    # an expiring token works until it expires
    short = n.new_token("ed", expires_days=1)
    eq(n.call("GET", "/api/me", who=short)[0], 200)
    # a day is long for a test: its expiry moved into the past in the database itself, as time
    # would; the next write moves the content generation, and the token is looked up again
    set_token_field(n, n.ids[short], "expires_at", "2000-01-01T00:00:00Z")
    n.write("ed", {"title": "Moves the generation", "body": "x", "status": "draft"})
    status, h, _ = n.call("GET", "/api/me", who=short)
    eq((status, h.get("www-authenticate")), (401, "Bearer"), "an expired token")
    check(not n.call("POST", "/api/users/ed/tokens", {"expires_days": 0}, who="root")[0] == 201)
    eq(n.call("POST", "/api/users/ed/tokens", {"expires_days": "x"}, who="root")[0], 422)
    eq(n.call("POST", "/api/users/ed/tokens", {"scope": "all"}, who="root")[0], 422)
    eq(n.call("POST", "/api/users/nobody/tokens", None, who="root")[0], 404)
    # accounts: bad input names the field, changes nothing
    for body, field in (({"name": "X", "role": "editor"}, "handle"),
                        ({"handle": "Bad Handle", "name": "X", "role": "editor"}, "handle"),
                        ({"handle": "x", "name": "X", "role": "chief"}, "role"),
                        ({"handle": "x", "name": "", "role": "editor"}, "name"),
                        ({"handle": "x", "name": "X", "role": "editor", "admin": True}, "admin"),
                        ({"handle": "x", "name": "X", "role": "editor", "password": "short"},
                         "password")):
        status, _, e = n.call("POST", "/api/users", body, who="root")
        eq(status, 422, repr(body))
        check(e["error"]["message"].startswith(field + ":"), e)
    eq(n.call("POST", "/api/users", {"handle": "ed", "name": "E", "role": "editor"},
              who="root")[0], 409, "a taken handle")
    eq(n.call("PATCH", "/api/users/ed", {"handle": "eddie"}, who="root")[0], 422)
    status, _, users = n.call("GET", "/api/users", who="root")
    eq((status, users["total"]), (200, 4))
    check(all("password" not in u for u in users["users"]))


def roles(n):
    # a contributor's story without a status is a draft, authored by them
    a = n.write("alice", {"title": "Alice drafts", "body": "Words."})
    eq((a["status"], a["authors"]), ("draft", ["alice"]))
    for body, why in (({"title": "Pub", "body": "x", "status": "published"}, "publish"),
                      ({"title": "Later", "body": "x", "status": "published",
                        "published_at": "2099-01-01T00:00:00Z"}, "schedule")):
        status, e = n.write("alice", body, want=None)
        eq(status, 403, "a contributor publishing/scheduling")
        check(why in e["error"]["message"] and "contributor" in e["error"]["message"], e)
    # a contributor's draft may not be handed to someone else
    status, e = n.write("alice", {"title": "Ghost", "body": "x", "authors": ["ed"]}, want=None)
    eq(status, 403)
    # an editor's story, and bob's draft
    n.write("ed", {"title": "Ed publishes", "body": "Words."})
    n.write("bob", {"title": "Bob drafts", "body": "Words."})
    for slug, why in (("ed-publishes", "published"), ("bob-drafts", "another's draft")):
        status, e = n.write("alice", {"title": "Mine now", "body": "x"}, method="PUT",
                            slug=slug, want=None)
        eq(status, 403, "a contributor editing " + slug)
        check(why in e["error"]["message"], e)
    # her own draft she edits, and it stays a draft; publishing it is an editor's
    b = n.write("alice", {"title": "Alice drafts", "body": "Better words."}, method="PUT",
                slug="alice-drafts", want=200)
    eq((b["status"], b["authors"]), ("draft", ["alice"]))
    status, e = n.write("alice", {"title": "Alice drafts", "body": "x", "status": "published"},
                        method="PUT", slug="alice-drafts", want=None)
    eq(status, 403)
    c = n.write("ed", {"title": "Alice drafts", "body": "Better words.", "status": "published"},
                method="PUT", slug="alice-drafts", want=200)
    eq((c["status"], c["authors"]), ("published", ["alice"]), "the editor keeps her byline")
    # deleting, restoring: an editor's
    status, _, e = n.call("DELETE", "/api/articles/bob-drafts", who="alice")
    eq(status, 403)
    check("delete" in e["error"]["message"], e)
    status, _, e = n.call("POST", "/api/articles/alice-drafts/revisions/1/restore", who="alice")
    eq(status, 403, "a contributor restoring")
    check("editor" in e["error"]["message"] and "contributor" in e["error"]["message"], e)
    # accounts, tokens and the audit: an admin's
    for method, path in (("GET", "/api/users"), ("GET", "/api/audit"), ("GET", "/api/tokens"),
                         ("POST", "/api/users/ed/tokens"), ("PATCH", "/api/users/ed")):
        status, _, e = n.call(method, path, {} if method != "GET" else None, who="ed")
        eq(status, 403, "an editor on " + path)
        check("admin" in e["error"]["message"], e)
    # no credentials: 401 before anything; drafts listed for an account
    eq(n.call("POST", "/api/articles", {"title": "x", "body": "y"})[0], 401)
    # a contributor's ?status=all is her own stories; another's draft is not found for her
    status, _, lst = n.call("GET", "/api/articles?status=all", who="alice")
    eq((status, [a["slug"] for a in lst["articles"]]), (200, ["alice-drafts"]))
    eq(n.call("GET", "/api/articles/bob-drafts?status=all", who="alice")[0], 404)
    eq(n.call("GET", "/api/articles/bob-drafts?status=all", who="bob")[0], 200)
    eq(n.call("GET", "/api/articles?status=all&tag=x", who="alice")[0], 400)
    eq(n.call("GET", "/api/articles?status=all", who="ed")[2]["total"], 4)
    eq(n.call("GET", "/api/articles?status=all")[0], 401)
    # nothing the refused writes tried is there
    status, _, lst = n.call("GET", "/api/articles?status=all", who="ed")
    eq(sorted(a["slug"] for a in lst["articles"]),
       ["alice-drafts", "bob-drafts", "ed-publishes", "moves-the-generation"])


def authors_and_corrections(n):
    status, e = n.write("ed", {"title": "X", "body": "y", "authors": ["alice", "nobody"]},
                        want=None)
    eq(status, 422)
    eq(e["error"]["message"], "authors[1]: no account 'nobody'")
    for bad, field in (([{"at": "yesterday", "text": "x"}], "corrections[0].at"),
                       ([{"at": "2023-01-12T14:33:00+08:00"}], "corrections[0].text"),
                       ([{"at": "2023-01-12T14:33:00+08:00", "text": "x", "by": "me"}],
                        "corrections[0].by"),
                       ("fixed", "corrections"),
                       ([{"at": "2023-01-12T14:33:00+08:00", "text": "x" * (10 << 20)}],
                        "corrections[0].text")):
        # 10 MB to parse takes valgrind a while: the client waits for it
        status, e = n.write("ed", {"title": "Bad", "body": "y", "corrections": bad}, want=None,
                            timeout=300)
        eq(status, 422, "corrections %s" % field)
        check(e["error"]["message"].startswith(field + ":"), e["error"]["message"][:200])
    eq(n.call("GET", "/api/articles/bad")[0], 404, "nothing was stored")
    a = n.write("ed", {"title": "Corrected story", "body": "Body.", "authors": ["alice", "ed"],
                       "author": "A. Stringer", "editor": "Ye Lijiao",
                       "corrections": [{"at": "2099-01-02T03:04:05+08:00",
                                        "text": "An earlier version misnamed the minister."}]})
    eq(a["corrections"], [{"at": "2099-01-01T19:04:05Z",
                           "text": "An earlier version misnamed the minister."}])
    status, _, page = n.call("GET", "/articles/corrected-story")
    page = page.decode()
    eq(status, 200)
    check('By <a rel="author" href="/authors/alice">Alice Example</a>, <a rel="author" '
          'href="/authors/ed">Ed Example</a> and A. Stringer</p>' in page, "byline")
    check('class="corrections"' in page and "misnamed the minister" in page, "correction note")
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>',
                              page).group(1))
    eq([p.get("url") for p in ld["author"]],
       ["http://news.test/authors/alice", "http://news.test/authors/ed", None])
    check(all(p["name"] != "Ye Lijiao" for p in ld["author"]), "the editor is no author")
    eq(ld["dateModified"], "2099-01-01T19:04:05Z", "a correction moves dateModified")
    eq(ld["correction"][0]["text"], "An earlier version misnamed the minister.")
    # a story with an editor and no author names nobody as its author
    n.write("ed", {"title": "Edited only", "body": "Body.", "editor": "Ye Lijiao",
                   "authors": []})
    page = n.call("GET", "/articles/edited-only")[2].decode()
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>',
                              page).group(1))
    check("author" not in ld, ld)
    check('class="byline"' not in page, "no byline")
    # the feed carries the authors and the correction
    feed = n.call("GET", "/feed.xml")[2].decode()
    check("<author><name>Alice Example</name><uri>http://news.test/authors/alice</uri>" in feed)
    check("Correction, 2099-01-01T19:04:05Z:" in feed and "misnamed the minister" in feed)
    check("<updated>2099-01-01T19:04:05Z</updated>" in feed, "the entry's updated moves")
    # the author's page lists their public stories, and is in the sitemap
    status, _, page = n.call("GET", "/authors/alice")
    eq(status, 200)
    page = page.decode()
    check("<h1" in page and "Alice Example" in page and "/articles/corrected-story" in page)
    eq(n.call("GET", "/authors/nobody")[0], 404)
    eq(n.call("GET", "/authors/Alice")[0], 404)
    check("<loc>http://news.test/authors/alice</loc>" in n.call("GET", "/sitemap.xml")[2].decode())
    # PATCHed names show at once
    n.call("PATCH", "/api/users/alice", {"name": "Alice Renamed", "bio": "Covers trade."},
           who="root")
    page = n.call("GET", "/articles/corrected-story")[2].decode()
    check("Alice Renamed" in page, "the byline follows the account's name")
    check("Covers trade." in n.call("GET", "/authors/alice")[2].decode())


def many_authors():
    """10,000 accounts, from an import: listed in pages, each page and byline found."""
    s = Server(BINARY, token=BOOT)
    try:
        accounts = [{"handle": "reporter-%05d" % i, "name": "Reporter %d" % i,
                     "role": "contributor", "bio": "", "disabled": False}
                    for i in range(10000)]
        doc = {"articles": [{"title": "Ten bylines", "body": "Many hands.",
                             "authors": ["reporter-%05d" % i for i in range(9990, 10000)]}],
               "accounts": accounts, "revisions": []}
        path = os.path.join(s.dir, "accounts.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        r = s.run_cli("import", "-c", s.config_path, path)
        eq(r.returncode, 0, r.stderr)
        s.start()
        st, _, root = s.json("POST", "/api/users", {"handle": "root", "name": "R", "role": "admin"},
                             auth=True)
        eq(st, 201)
        st, _, t = s.json("POST", "/api/users/root/tokens", None, auth=True)
        eq(st, 201)
        h = {"Authorization": "Bearer " + t["token"]}
        st, _, page = s.json("GET", "/api/users?page=100&per_page=100", headers=h)
        eq((st, page["total"], len(page["users"])), (200, 10001, 100))
        eq((page["users"][0]["handle"], page["users"][-1]["handle"]),
           ("reporter-09900", "reporter-09999"), "by handle: root comes last")
        st, _, a = s.json("GET", "/api/articles/ten-bylines")
        eq(len(a["authors"]), 10)
        body = s.get("/articles/ten-bylines")[2].decode()
        check("Reporter 9990" in body and "Reporter 9999" in body)
        eq(s.get("/authors/reporter-09995")[0], 200)
        eq(s.stop(), 0)
    finally:
        s.cleanup()


def revisions_and_restore(n):
    n.write("ed", {"title": "Versions", "body": "First."})
    n.write("ed", {"title": "Versions", "body": "Second."}, method="PUT", slug="versions",
            want=200)
    eq(n.call("DELETE", "/api/articles/versions", who="ed")[0], 204)
    eq(n.call("GET", "/api/articles/versions")[0], 404)
    # the revisions outlive the delete
    # the history is an editor's: it holds deleted and embargoed stories
    eq(n.call("GET", "/api/articles/versions/revisions", who="alice")[0], 403)
    status, _, revs = n.call("GET", "/api/articles/versions/revisions", who="ed")
    eq(status, 200)
    eq([(r["n"], r["action"], r["account"]) for r in revs["revisions"]],
       [(3, "article.delete", "ed"), (2, "article.replace", "ed"), (1, "article.create", "ed")])
    check("body" not in revs["revisions"][0]["article"], "the list leaves bodies out")
    status, _, one = n.call("GET", "/api/articles/versions/revisions/1", who="ed")
    eq((status, one["article"]["body"]), (200, "First."))
    eq(n.call("GET", "/api/articles/versions/revisions/9", who="ed")[0], 404)
    eq(n.call("GET", "/api/articles/versions/revisions/x", who="ed")[0], 404)
    eq(n.call("GET", "/api/articles/versions/revisions", who=None)[0], 401)
    # restoring brings it back, same id, as revision 4
    status, _, back = n.call("POST", "/api/articles/versions/revisions/1/restore", who="ed")
    eq(status, 200, repr(back))
    eq((back["body"], back["id"], back["slug"]), ("First.", revs["id"], "versions"))
    eq(n.call("GET", "/api/articles/versions")[2]["body"], "First.")
    status, _, revs = n.call("GET", "/api/articles/versions/revisions", who="ed")
    eq((revs["revisions"][0]["n"], revs["revisions"][0]["action"],
        revs["revisions"][0]["restored"]), (4, "article.restore", 1))
    # a new story never takes a deleted one's id, nor its slug (its revisions are found there)
    n.write("ed", {"title": "Short lived", "body": "x"})
    gone = n.call("GET", "/api/articles/short-lived")[2]["id"]
    n.call("DELETE", "/api/articles/short-lived", who="ed")
    eq(n.write("ed", {"title": "Next one", "body": "x"})["id"], gone + 1)
    eq(n.write("ed", {"title": "Short lived", "body": "y"})["slug"], "short-lived-2")
    eq(n.write("ed", {"title": "x", "body": "y", "slug": "short-lived"}, want=None)[0], 409)
    status, _, back = n.call("POST", "/api/articles/short-lived/revisions/1/restore", who="ed")
    eq((status, back["slug"], back["id"]), (200, "short-lived", gone))


def renames(n):
    n.write("ed", {"title": "Old name", "body": "x"})
    n.write("ed", {"title": "Old name", "body": "x", "slug": "new-name"}, method="PUT",
            slug="old-name", want=200)
    for path, where in (("/articles/old-name", "/articles/new-name"),
                        ("/api/articles/old-name", "/api/articles/new-name"),
                        ("/api/ninjs/old-name", "/api/ninjs/new-name")):
        status, h, _ = n.call("GET", path)
        eq((status, h.get("location")), (301, where), path)
    # a slug still redirecting is taken: a given one is 409, a derived one moves on
    status, e = n.write("ed", {"title": "Other", "body": "x", "slug": "old-name"}, want=None)
    eq(status, 409)
    eq(n.write("ed", {"title": "Old name", "body": "x"})["slug"], "old-name-2")
    # a renamed draft does not show its new slug to readers
    n.write("ed", {"title": "Secret plan", "body": "x", "status": "draft"})
    n.write("ed", {"title": "Secret plan", "body": "x", "status": "draft", "slug": "plan-b"},
            method="PUT", slug="secret-plan", want=200)
    status, h, _ = n.call("GET", "/articles/secret-plan")
    eq((status, h.get("location")), (404, None))
    status, h, _ = n.call("GET", "/api/articles/secret-plan?status=all", who="ed")
    eq((status, h.get("location")), (301, "/api/articles/plan-b?status=all"))
    # chains end at the current slug; renaming back frees the old one
    n.write("ed", {"title": "Old name", "body": "x", "slug": "newest-name"}, method="PUT",
            slug="new-name", want=200)
    eq(n.call("GET", "/articles/old-name")[1].get("location"), "/articles/newest-name")
    n.write("ed", {"title": "Old name", "body": "x", "slug": "old-name"}, method="PUT",
            slug="newest-name", want=200)
    eq(n.call("GET", "/articles/old-name")[0], 200)
    eq(n.call("GET", "/articles/newest-name")[1].get("location"), "/articles/old-name")


def audit_log(n):
    status, _, a = n.call("POST", "/api/articles", {"title": "Audited", "body": "x"}, who="ed",
                          headers={"X-Request-Id": "req-42"})
    eq(status, 201)
    n.call("PUT", "/api/articles/audited", {"title": "Audited", "body": "y"}, who="ed",
           headers={"X-Request-Id": "bad id with spaces"})
    n.call("DELETE", "/api/articles/audited", who="ed")
    status, _, log = n.call("GET", "/api/audit?per_page=100", who="root")
    eq(status, 200)
    entries = log["entries"]
    eq([e["id"] for e in entries], sorted((e["id"] for e in entries), reverse=True),
       "newest first")
    mine = [e for e in entries if e["object"] == "article/audited"]
    eq([e["action"] for e in mine], ["article.delete", "article.replace", "article.create"])
    eq(mine[2]["request_id"], "req-42")
    check(re.fullmatch(r"[0-9a-f]{32}", mine[1]["request_id"]), mine[1])
    eq({e["actor"] for e in mine}, {"ed"})
    eq(mine[0]["token_id"], n.ids[n.tokens["ed"]])
    eq(mine[0]["client"], "127.0.0.1")
    eq(set(mine[0]), {"id", "at", "actor", "token_id", "action", "object", "client",
                      "request_id"})
    actions = {e["action"] for e in entries}
    check({"user.create", "user.update", "token.create", "token.revoke"} <= actions, actions)
    eq(n.call("GET", "/api/audit?page=0", who="root")[0], 400)
    status, _, empty = n.call("GET", "/api/audit?page=999", who="root")
    eq((status, empty["entries"]), (200, []))


def set_token_field(n, tid, field, value):
    """Sets one field of token tid in the real database: its record, and the copy a check
    reads (under the token's hash)."""
    if pg.attached():
        pg.attached().psql("UPDATE docs SET doc = jsonb_set(doc::jsonb, '{%s}', '\"%s\"')::text"
                           " WHERE kind IN ('token-id', 'token') AND (doc::jsonb->>'id')::bigint"
                           " = %d" % (field, value, tid), pg_db(n))
        return
    db = sqlite3.connect(os.path.join(n.s.dir, "gazette.db"))
    try:
        db.execute("UPDATE docs SET doc = json_set(doc, '$.%s', ?) WHERE kind IN ('token-id',"
                   " 'token') AND json_extract(doc, '$.id') = ?" % field, (value, tid))
        db.commit()
    finally:
        db.close()


def preview_key(n):
    """The key of preview links, read from the real database as an operator could."""
    if pg.attached():
        doc = pg.attached().psql("SELECT doc FROM docs WHERE kind = 'secret'", pg_db(n))
        return json.loads(doc)["key"] if doc else None
    db = sqlite3.connect(os.path.join(n.s.dir, "gazette.db"))
    try:
        row = db.execute("SELECT doc FROM docs WHERE kind = 'secret'").fetchone()
        return json.loads(row[0])["key"] if row else None
    finally:
        db.close()


def previews(n):
    n.write("alice", {"title": "Embargoed", "body": "Not yet."})
    n.write("bob", {"title": "Bobs secret", "body": "Mine."})
    eq(n.call("GET", "/articles/embargoed")[0], 404)
    status, h, p = n.call("POST", "/api/articles/embargoed/preview", who="alice")
    eq(status, 201, repr(p))
    url = p["url"]
    eq(h.get("location"), url)
    check(url.startswith("http://news.test/preview/embargoed?expires="), url)
    check(p["expires_at"].endswith("Z"))
    path = url[len("http://news.test"):]
    status, h, page = n.call("GET", path)
    eq(status, 200)
    eq(h["cache-control"], "private, no-store")
    eq(h.get("referrer-policy"), "no-referrer")
    check("etag" not in h, "never cached")
    check('<meta name="robots" content="noindex, nofollow">' in page.decode())
    check("Not yet." in page.decode())
    # not cached: an edit shows at once
    n.write("alice", {"title": "Embargoed", "body": "Now revised."}, method="PUT",
            slug="embargoed", want=200)
    check("Now revised." in n.call("GET", path)[2].decode())
    # a contributor previews only her own; an editor anyone's
    eq(n.call("POST", "/api/articles/bobs-secret/preview", who="alice")[0], 403)
    eq(n.call("POST", "/api/articles/bobs-secret/preview", None, who="ed")[0], 201)
    eq(n.call("POST", "/api/articles/embargoed/preview", {"expires_days": 0}, who="ed")[0], 422)
    eq(n.call("POST", "/api/articles/missing/preview", None, who="ed")[0], 404)
    missing = n.call("GET", "/articles/never-was")
    # tampered, wrong article, expired, stripped: all the 404 of a missing story
    sig = re.search(r"sig=([0-9a-f]{64})", url).group(1)
    expires = int(re.search(r"expires=(\d+)", url).group(1))
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    bad = ["/preview/embargoed?expires=%d&sig=%s" % (expires, flipped),
           "/preview/embargoed?expires=%d&sig=%s" % (expires + 1, sig),
           "/preview/bobs-secret?expires=%d&sig=%s" % (expires, sig),
           "/preview/embargoed?expires=%d" % expires, "/preview/embargoed"]
    key = preview_key(n)
    if key is not None:
        # an expired link, signed exactly as the server signs (id, slug, time)
        sid = n.call("GET", "/api/articles/embargoed?status=all", who="ed")[2]["id"]
        past = int(time.time()) - 10
        msg = "gazette-preview\n%d\nembargoed\n%d" % (sid, past)
        good_but_old = hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest()
        bad.append("/preview/embargoed?expires=%d&sig=%s" % (past, good_but_old))
        future = past + 3600
        msg = "gazette-preview\n%d\nembargoed\n%d" % (sid, future)
        fresh = hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest()
        eq(n.call("GET", "/preview/embargoed?expires=%d&sig=%s" % (future, fresh))[0], 200,
           "the test signs as the server does")
    for b in bad:
        status, h, body = n.call("GET", b)
        eq((status, body), (404, missing[2]), b)
    # the key rotates: every link is dead
    r = n.s.run_cli("previews", "revoke", "-c", n.s.config_path)
    eq(r.returncode, 0, r.stderr)
    deadline = time.time() + 5
    while n.call("GET", path)[0] == 200 and time.time() < deadline:
        time.sleep(0.1)
    eq(n.call("GET", path)[0], 404, "dead after the key rotated")


def rate_limit(n):
    # the run's revoked, disabled and expired tokens counted already: at most 10 more
    statuses = [n.call("GET", "/api/me", who="gz_" + "A" * 43)[0] for i in range(11)]
    check(set(statuses[:statuses.index(429)]) == {401} and 1 <= statuses.index(429) <= 10,
          statuses)
    status, h, _ = n.call("GET", "/api/me", who="alice")
    eq(status, 429, "the tenth wrong token holds the client")
    check(1 <= int(h["retry-after"]) <= 60)
    # requests without credentials were never counted (the others' tests made plenty)


def export_import(n):
    n.write("ed", {"title": "Carried", "body": "x", "authors": ["alice"],
                   "corrections": [{"at": "2023-01-12T14:33:00+08:00", "text": "Fixed."}]})
    n.write("ed", {"title": "Carried", "body": "y"}, method="PUT", slug="carried", want=200)
    r = n.s.run_cli("export", "-c", n.s.config_path)
    eq(r.returncode, 0, r.stderr)
    out = r.stdout.decode()
    for secret in list(n.tokens.values()) + [PASSWORD, BOOT]:
        check(secret not in out, "an export holds no secret")
    check('"password"' not in out and "argon2" not in out, "no password hash either")
    doc = json.loads(out)
    eq(sorted(a["handle"] for a in doc["accounts"]), ["alice", "bob", "ed", "root"])
    carried = [a for a in doc["articles"] if a["slug"] == "carried"][0]
    eq((carried["authors"], carried["corrections"][0]["text"]), (["alice"], "Fixed."))
    check(len([v for v in doc["revisions"] if v["story_id"] == carried["id"]]) == 2)
    # into a new site
    t = Server(BINARY, token=BOOT)
    try:
        path = os.path.join(t.dir, "export.json")
        with open(path, "w") as f:
            f.write(out)
        # an account the API could not have made is refused, naming it; nothing imported
        bad = dict(doc, accounts=doc["accounts"] + [{"handle": "x", "name": "X", "role": "boss"}])
        with open(path + ".bad", "w") as f:
            json.dump(bad, f)
        r = t.run_cli("import", "-c", t.config_path, path + ".bad")
        eq(r.returncode, 1)
        check(b"accounts[4]: role:" in r.stderr, r.stderr)
        r = t.run_cli("import", "-c", t.config_path, path)
        eq(r.returncode, 0, r.stderr)
        t.start()
        # accounts came without tokens: no old token works, the bootstrap token still does
        eq(t.get("/api/me", headers={"Authorization": "Bearer " + n.tokens["root"]})[0], 401)
        eq(t.get("/api/me", headers={"Authorization": "Bearer " + BOOT})[0], 200)
        r = t.run_cli("token", "create", "root", "-c", t.config_path)
        eq(r.returncode, 0, r.stderr)
        h = {"Authorization": "Bearer " + r.stdout.decode().strip()}
        deadline = time.time() + 5  # the server sees the command's write within its poll
        while t.get("/api/me", headers={"Authorization": "Bearer " + BOOT})[0] == 200:
            check(time.time() < deadline, "the bootstrap token outlived the first token")
            time.sleep(0.05)
        st, _, a = t.json("GET", "/api/articles/carried")
        eq((st, a["authors"], a["corrections"][0]["text"]), (200, ["alice"], "Fixed."))
        st, _, revs = t.json("GET", "/api/articles/carried/revisions", headers=h)
        eq([r["action"] for r in revs["revisions"]],
           ["article.import", "article.replace", "article.create"])
        check("Alice" in t.get("/authors/alice")[2].decode())
        eq(t.stop(), 0)
    finally:
        t.cleanup()


def migrate_keeps_tokens(n):
    """gazette migrate moves the newsroom whole: the tokens (as their hashes), passwords'
    hashes and the key of preview links come along, so nobody is locked out by a move."""
    n.write("alice", {"title": "Moved draft", "body": "x"})
    status, _, p = n.call("POST", "/api/articles/moved-draft/preview", who="alice")
    eq(status, 201)
    n.call("PATCH", "/api/users/ed", {"password": PASSWORD}, who="root")
    target = os.path.join(n.s.dir, "moved.db")
    r = n.s.run_cli("migrate", "-c", n.s.config_path, "--to", target)
    eq(r.returncode, 0, r.stderr)
    t = Server(BINARY, token="", config={"paths": {"database": target}}, sqlite=True)
    try:
        t.start()
        for who in ("alice", "ed", "root"):
            st, _, me = t.json("GET", "/api/me",
                               headers={"Authorization": "Bearer " + n.tokens[who]})
            eq((st, me.get("handle")), (200, who), "%s's token after the move" % who)
        eq(t.get(p["url"][len("http://news.test"):])[0], 200, "a preview link after the move")
        st, _, revs = t.json("GET", "/api/articles/moved-draft/revisions",
                             headers={"Authorization": "Bearer " + n.tokens["ed"]})
        eq((st, revs["revisions"][0]["action"]), (200, "article.import"))
        eq(t.stop(), 0)
    finally:
        t.cleanup()
    db = sqlite3.connect(target)
    try:
        rows = db.execute("SELECT doc FROM docs WHERE kind = 'account' AND key = 'ed'").fetchone()
        check("$argon2id$" in rows[0], "the password's hash moved")
    finally:
        db.close()


def write_storm_kill9():
    """Audit entries and revisions are written in the write's own transaction: after kill -9
    in the middle of a storm of writes, every revision has its audit entry and every audit
    entry of an article its revision, and every acknowledged write is there."""
    n = Newsroom()
    try:
        acked = []
        stop = threading.Event()
        lock = threading.Lock()

        def writer(k):
            i = 0
            while not stop.is_set():
                try:
                    st, _, a = n.s.json("POST", "/api/articles",
                                        {"title": "Storm %d %d" % (k, i), "body": "x"},
                                        headers={"Authorization": "Bearer " + n.tokens["ed"]})
                except Exception:
                    return
                if st == 201:
                    with lock:
                        acked.append(a["slug"])
                i += 1

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        n.s.kill(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join()
        n.s.proc.wait()
        n.s.stderr_file.close()
        check(len(acked) > 20, "only %d writes" % len(acked))
        n.s.start()
        h = {"Authorization": "Bearer " + n.tokens["root"]}
        entries = []
        for page in range(1, 1000):
            st, _, log = n.s.json("GET", "/api/audit?per_page=100&page=%d" % page, headers=h)
            entries += log["entries"]
            if not log["entries"]:
                break
        created = {e["object"][len("article/"):] for e in entries
                   if e["action"] == "article.create"}
        st, _, lst = n.s.json("GET", "/api/articles?status=all&per_page=100", headers=h)
        stored = set()
        for page in range(1, lst["pages"] + 1):
            st, _, lst = n.s.json("GET", "/api/articles?status=all&per_page=100&page=%d" % page,
                                  headers=h)
            stored |= {a["slug"] for a in lst["articles"]}
        check(set(acked) <= stored, "acknowledged writes lost: %r" % (set(acked) - stored))
        eq(created, stored, "an audit entry for every story, and a story for every entry")
        for slug in list(stored)[:: max(1, len(stored) // 25)]:
            st, _, revs = n.s.json("GET", "/api/articles/%s/revisions" % slug, headers=h)
            eq([r["action"] for r in revs["revisions"]], ["article.create"], slug)
        print("# kill -9 storm: %d acknowledged, %d stored, %d audit entries"
              % (len(acked), len(stored), len(entries)))
        eq(n.s.stop(), 0)
    finally:
        n.cleanup()


def no_secret_anywhere(n):
    """Run last on a server that saw every kind of write: neither a token nor a password is in
    the database or in any answer (token creation answers aside)."""
    r = n.call("PATCH", "/api/users/ed", {"password": PASSWORD}, who="root")
    eq(r[0], 200)
    check("password" not in r[2], r[2])
    r = subprocess.run([BINARY, "user", "passwd", "alice", "-c", n.s.config_path],
                       input=(PASSWORD + "\n").encode(), capture_output=True, env=n.s.env)
    eq(r.returncode, 0, r.stderr)
    secrets = [t.encode() for t in n.tokens.values()] + [PASSWORD.encode(), BOOT.encode()]
    for data in ANSWERS:
        for sec in secrets:
            check(sec not in data, "an answer holds a secret: %r" % data[:200])
    if pg.attached():
        # every table, as text
        db = pg_db(n)
        blobs = [pg.attached().psql("SELECT string_agg(t::text, ' ') FROM %s t" % table,
                                    db).encode()
                 for table in ("docs", "articles", "tags", "gazette_meta")]
    else:
        blobs = []
        for path in glob.glob(os.path.join(n.s.dir, "gazette.db*")):
            with open(path, "rb") as f:
                blobs.append(f.read())
    check(blobs and any(b"argon2id" in b for b in blobs), "the password's hash is stored")
    for blob in blobs:
        for sec in secrets:
            check(sec not in blob, "the database holds a secret")
        # a token's hash is what is stored
        for t in n.tokens.values():
            digest = hashlib.sha256(t.encode()).hexdigest().encode()
            check(any(digest in b for b in blobs), "the SHA-256 of a token is stored")


def pg_db(n):
    with open(n.s.config_path) as f:
        url = [line for line in f if line.startswith("url = ")][0]
    return url.split("/")[3].split("?")[0]


def everything(n):
    """One server through every kind of write, then the search for secrets."""
    bootstrap_and_tokens(n)
    roles(n)
    authors_and_corrections(n)
    revisions_and_restore(n)
    renames(n)
    audit_log(n)
    previews(n)
    export_import(n)
    no_secret_anywhere(n)
    rate_limit(n)


def cli_commands():
    s = Server(BINARY, token="")
    try:
        def cli(*args, input=None):
            return s.run_cli(*(list(args) + ["-c", s.config_path]), input=input)
        eq(cli("user", "add", "ana", "--name", "Ana", "--role", "admin").returncode, 0)
        r = cli("user", "add", "ana", "--name", "Ana", "--role", "admin")
        eq(r.returncode, 1, "a taken handle")
        check(b"taken" in r.stderr, r.stderr)
        r = cli("user", "add", "x", "--name", "X", "--role", "boss")
        eq(r.returncode, 2)
        check(b"role" in r.stderr, r.stderr)
        eq(cli("user", "add", "x", "--role", "editor").returncode, 2, "no --name")
        eq(cli("user", "frobnicate").returncode, 2)
        eq(cli("user", "passwd", "ana", input=b"short\n").returncode, 2)
        eq(cli("user", "passwd", "nobody", input=(PASSWORD + "\n").encode()).returncode, 1)
        eq(cli("user", "passwd", "ana", input=(PASSWORD + "\n").encode()).returncode, 0)
        r = cli("user", "list")
        eq(r.returncode, 0)
        check(b"ana" in r.stdout and b"admin" in r.stdout, r.stdout)
        r = cli("token", "create", "ana", "--name", "laptop", "--expires-days", "30")
        eq(r.returncode, 0, r.stderr)
        token = r.stdout.decode().strip()
        check(re.fullmatch(r"gz_[A-Za-z0-9_-]{43}", token), token)
        eq(cli("token", "create", "nobody").returncode, 1)
        eq(cli("token", "create", "ana", "--expires-days", "0").returncode, 2)
        r = cli("token", "list")
        check(token[:8].encode() in r.stdout and token.encode() not in r.stdout, r.stdout)
        check(b"laptop" in r.stdout and b"expires" in r.stdout, r.stdout)
        s.start()
        h = {"Authorization": "Bearer " + token}
        eq(s.json("GET", "/api/me", headers=h)[2]["handle"], "ana")
        eq(cli("token", "revoke", "1").returncode, 0)
        eq(cli("token", "revoke", "1").returncode, 1, "already revoked")
        eq(cli("token", "revoke", "x").returncode, 2)
        deadline = time.time() + 5
        while s.get("/api/me", headers=h)[0] == 200 and time.time() < deadline:
            time.sleep(0.1)
        eq(s.get("/api/me", headers=h)[0], 401, "revoked from the command line, seen by the server")
        eq(cli("previews", "revoke").returncode, 0)
        eq(cli("previews", "rotate").returncode, 2)
        eq(s.stop(), 0)
    finally:
        s.cleanup()


def readme_first_write():
    """README: right after scripts/run (its local admin token made by scripts/local-admin), the
    write example works as printed."""
    s = Server(BINARY, token="")
    try:
        with open(os.path.join(SOURCE_ROOT, "README.md")) as f:
            readme = f.read()
        block = re.search(r"```sh\n(curl -s -X POST http://localhost:8080/api/articles.*?)```",
                          readme, re.S).group(1)
        token_file = re.search(r'\$\(cat ([^)]+)\)', block).group(1)
        env = dict(s.env, GAZETTE_BINARY=os.path.abspath(BINARY), GAZETTE_CONFIG=s.config_path)
        r = subprocess.run([os.path.join(SOURCE_ROOT, "scripts", "local-admin")], env=env,
                           cwd=s.dir, capture_output=True)
        eq(r.returncode, 0, r.stderr)
        check(token_file.encode() in r.stderr, "scripts/local-admin names its file: %r" % r.stderr)
        path = os.path.join(s.dir, token_file)
        eq(os.stat(path).st_mode & 0o777, 0o600, "mode of " + token_file)
        # a second run keeps the file and its token
        with open(path) as f:
            first = f.read()
        eq(subprocess.run([os.path.join(SOURCE_ROOT, "scripts", "local-admin")], env=env,
                          cwd=s.dir, capture_output=True).returncode, 0)
        with open(path) as f:
            eq(f.read(), first, "made once")
        os.symlink(os.path.join(SOURCE_ROOT, "content"), os.path.join(s.dir, "content"))
        s.start()
        lines = [l for l in block.replace("\\\n", " ").splitlines() if l.strip()]
        post_cmd = lines[0].split("#")[0].replace("localhost:8080", "127.0.0.1:%d" % s.port)
        r = subprocess.run(["bash", "-c", post_cmd + " -o /dev/null -w '%{http_code}'"],
                           cwd=s.dir, capture_output=True)
        eq(r.stdout, b"201", r.stderr)
        eq(s.json("GET", "/api/articles")[2]["total"], 1)
        eq(s.stop(), 0)
    finally:
        s.cleanup()


def readme_deploy_tokens():
    """README, "Deploy behind nginx": the bootstrap token makes the first admin and its token,
    every curl reads its header from a file, and the story is written with the new token."""
    with open(os.path.join(SOURCE_ROOT, "README.md")) as f:
        readme = f.read()
    deploy = readme[readme.index("## Deploy behind nginx"):]
    block = deploy[deploy.index("# curl reads the header from a file"):]
    block = block[:block.index("```")]
    for line in block.splitlines():
        check(not re.search(r"Bearer \$\(|Bearer gz_", line), "a token on a command line: " + line)
    token = "deploy-bootstrap-0123456789"
    s = Server(BINARY, token=token)
    try:
        s.start()
        with open(os.path.join(s.dir, "token"), "w") as f:
            f.write(token + "\n")
        os.symlink(os.path.join(SOURCE_ROOT, "content"), os.path.join(s.dir, "content"))
        url = "http://127.0.0.1:%d" % s.port
        script = (block.replace("/root/", s.dir + "/").replace("/etc/gazette/token",
                                                                 s.dir + "/token")
                  .replace("http://127.0.0.1:8080", url)
                  .replace("http://news.example.org", url))
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=s.dir,
                           capture_output=True)
        eq(r.returncode, 0, r.stderr)
        header = os.path.join(s.dir, "gazette.header")
        eq(os.stat(header).st_mode & 0o777, 0o600)
        with open(header) as f:
            check(re.fullmatch(r"Authorization: Bearer gz_[A-Za-z0-9_-]{43}\n", f.read()))
        eq(s.get("/api/me", headers={"Authorization": "Bearer " + token})[0], 401,
           "the bootstrap token is refused once an admin has a token")
        st, _, lst = s.json("GET", "/api/articles")
        eq(lst["total"], 1)
        eq(lst["articles"][0]["authors"], ["chief"])
        eq(s.stop(), 0)
    finally:
        s.cleanup()


if __name__ == "__main__":
    run([
        ("every write of the newsroom, and no secret anywhere",
         newsroom_test(everything, config={"server": {"max_body_bytes": str(32 << 20)}})),
        ("10,000 authors", many_authors),
        ("audit and revisions in the write's transaction: kill -9 in a storm", write_storm_kill9),
        ("gazette migrate keeps tokens, passwords and preview links", newsroom_test(migrate_keeps_tokens)),
        ("gazette user, token and previews", cli_commands),
        ("the README's first write after scripts/run", readme_first_write),
        ("the README's deploy steps: tokens from files, never on a command line",
         readme_deploy_tokens),
    ])
