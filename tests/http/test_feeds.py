"""test_feeds.py - /feed.xml, /sitemap.xml and /news-sitemap.xml read by real XML parsers
(ElementTree and minidom) after hostile articles are published, and hostile search queries."""

import re
import sys
import time
import urllib.parse
import xml.dom.minidom
import xml.etree.ElementTree as ET

from harness import post, Server, check, eq, run, server_test
from seed import SEED, SEED_SLUG

BINARY = sys.argv[1]
BASE = "http://news.test"
ATOM = "{http://www.w3.org/2005/Atom}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# A site title that needs escaping wherever it is written.
SITE_TITLE = 'Ünïcode & <Co> "News" ]]> 🗞'

NASTY = '"Quotes" & <angle> ]]> \'single\' — 🎉 עברית العربية \u2028 line\u2029sep ＜full＞'
HOSTILE = {
    "title": NASTY,
    "body": "Para with <script>alert(1)</script> & &amp; ]]> <![CDATA[ x ]]> 🎉\n\n"
            "עברית **bold** العربية \u2028 \u202e reversed \u202c\n\n"
            "    code <b> & ]]>\n\n"
            "[link](http://example.test/?a=1&b=<2>) <http://example.test/x?y=\"z\">\n\n"
            "> quote with `<code>` and \"quotes\" and 'apostrophes'\n",
    "editor": 'O\'Brien & <Sons> "Ltd" ]]>',
    "source": 'Agence <France> & "Presse"',
    "author": "محمد 🖋 & co <x>",
    "tags": ["<i>x</i>", "Ümlaut & more"],
}


def long_article():
    unit = "Ω🎉<&>\"'"
    return {
        "title": (unit * 60)[:300],
        "summary": ("Σ & <s> ]]> " * 50)[:500],
        "body": "\n\n".join("Paragraph %d: %s" % (i, NASTY * 20) for i in range(200)),
        "editor": "é" * 200,
        "slug": "long-one",
    }


def iso_ago(hours, offset="Z"):
    t = time.time() - hours * 3600
    if offset == "Z":
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    sign = 1 if offset[0] == "+" else -1
    shift = sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t + shift)) + offset


def with_server(fn):
    return server_test(BINARY, fn, config={"site": {"title": SITE_TITLE, "language": "en-GB",
                                                    "description": "Fair & <balanced>"}})



def fetch_xml(s, path, content_type):
    """The document at path, parsed by ElementTree and, to be sure, by minidom too."""
    st, h, b = s.get(path)
    eq(st, 200, path)
    eq(h["content-type"], content_type, path)
    check(b.startswith(b'<?xml version="1.0" encoding="'), "%s: XML declaration first" % path)
    try:
        root = ET.fromstring(b)
        xml.dom.minidom.parseString(b)
    except Exception as e:
        m = re.search(r"line (\d+), column (\d+)", str(e))
        where = b.split(b"\n")[int(m.group(1)) - 1][max(0, int(m.group(2)) - 60):][:120] \
            if m else b""
        raise AssertionError("%s is not well-formed XML: %s near %r" % (path, e, where))
    return root, b


def publish_all(s):
    """Public hostile and long stories, the seed, and some that must stay out of every feed.
    Those go in first: the content time is the last write's, and a draft written after the
    last public story, a second later on a slow run, would be it."""
    post(s, {"title": "A draft", "body": "draft body", "status": "draft", "slug": "a-draft"})
    post(s, {"title": "Scheduled", "body": "later", "published_at": "2099-01-01T00:00:00Z",
             "slug": "scheduled"})
    post(s, {"title": "In a minute", "body": "soon", "published_at": iso_ago(-1 / 60),
             "slug": "in-a-minute"})
    got = {"hostile": post(s, dict(HOSTILE)), "long": post(s, long_article()),
           "seed": post(s, SEED),
           "fresh": post(s, {"title": "Forty-seven hours", "body": "x",
                             "published_at": iso_ago(47, "+05:30")}),
           "stale": post(s, {"title": "Forty-nine hours", "body": "x",
                             "published_at": iso_ago(49)})}
    # the stored records, with body_html, as the API serves them
    return {k: s.json("GET", "/api/articles/" + a["slug"])[2] for k, a in got.items()}


def one(parent, tag, what):
    found = parent.findall(tag)
    eq(len(found), 1, "number of %s in %s" % (tag, what))
    return found[0]


def atom_feed(s):
    arts = publish_all(s)
    root, raw = fetch_xml(s, "/feed.xml", "application/atom+xml; charset=utf-8")
    eq(root.tag, ATOM + "feed")
    eq(one(root, ATOM + "id", "feed").text, BASE + "/")
    eq(one(root, ATOM + "title", "feed").text, SITE_TITLE)
    eq(one(root, ATOM + "subtitle", "feed").text, "Fair & <balanced>")
    updated = one(root, ATOM + "updated", "feed").text
    check(RFC3339.match(updated), updated)
    eq(updated, max(a["updated_at"] for a in arts.values()), "feed updated = newest entry's")
    links = {(l.get("rel"), l.get("type")): l.get("href") for l in root.findall(ATOM + "link")}
    eq(links.get(("self", "application/atom+xml")), BASE + "/feed.xml")
    eq(links.get(("alternate", "text/html")), BASE + "/")
    eq(one(one(root, ATOM + "author", "feed"), ATOM + "name", "feed author").text, SITE_TITLE)
    entries = root.findall(ATOM + "entry")
    eq(len(entries), len(arts), "public stories only")
    by_link = {}
    ids = set()
    for e in entries:
        what = "entry"
        eid = one(e, ATOM + "id", what).text
        check(re.fullmatch(r"tag:news\.test,\d{4}-\d{2}-\d{2}:\S+", eid), "tag: URI " + eid)
        check(eid not in ids, "duplicate id " + eid)
        ids.add(eid)
        link = [l for l in e.findall(ATOM + "link") if l.get("rel") == "alternate"]
        eq(len(link), 1, "one rel=alternate link")
        eq(link[0].get("type"), "text/html")
        by_link[link[0].get("href")] = e
    for key, a in arts.items():
        e = by_link.get(a["url"])
        check(e is not None, "%s (%s) missing from the feed" % (key, a["url"]))
        eq(one(e, ATOM + "title", key).text, a["title"], key + " title")
        eq(one(e, ATOM + "published", key).text, a["published_at"], key + " published")
        eq(one(e, ATOM + "updated", key).text, a["updated_at"], key + " updated")
        check(RFC3339.match(a["published_at"]) and RFC3339.match(a["updated_at"]))
        eq(one(e, ATOM + "summary", key).text, a["summary"], key + " summary")
        content = one(e, ATOM + "content", key)
        eq(content.get("type"), "html")
        eq(content.text, a["body_html"], key + " content is the body_html")
        if a.get("author"):
            eq(one(one(e, ATOM + "author", key), ATOM + "name", key).text, a["author"])
        eq(sorted(c.get("term") for c in e.findall(ATOM + "category")), sorted(a["tags"]))
    # newest published first
    order = [one(e, ATOM + "link", "entry").get("href") for e in entries]
    eq(order[-2:], [arts["stale"]["url"], arts["seed"]["url"]], "oldest last")
    for hostile in (b"<script>", b"<b>", b"<Sons>", b"<angle>"):
        check(hostile not in raw, "raw %r in the feed" % hostile)


def feed_ids_survive_rename(s):
    a = post(s, {"title": "Before", "body": "first", "slug": "before"})
    root, _ = fetch_xml(s, "/feed.xml", "application/atom+xml; charset=utf-8")
    entry = root.find(ATOM + "entry")
    eid, updated = entry.find(ATOM + "id").text, entry.find(ATOM + "updated").text
    time.sleep(1.1)  # so that updated_at, in seconds, changes
    # PUT replaces every input field: published_at is sent again, or it would become now
    st, _, b = s.json("PUT", "/api/articles/before", {"title": "After", "body": "second",
                                                      "slug": "after",
                                                      "published_at": a["published_at"]},
                      auth=True)
    eq(st, 200, b)
    root, _ = fetch_xml(s, "/feed.xml", "application/atom+xml; charset=utf-8")
    entries = root.findall(ATOM + "entry")
    eq(len(entries), 1)
    eq(entries[0].find(ATOM + "id").text, eid, "the entry id survives a rename")
    eq(entries[0].find(ATOM + "title").text, "After")
    eq(entries[0].find(ATOM + "link").get("href"), BASE + "/articles/after")
    check(entries[0].find(ATOM + "updated").text > updated, "updated moves on an edit")
    eq(entries[0].find(ATOM + "published").text, a["published_at"])
    # a second story gets its own id
    post(s, {"title": "Other", "body": "x"})
    root, _ = fetch_xml(s, "/feed.xml", "application/atom+xml; charset=utf-8")
    ids = [e.find(ATOM + "id").text for e in root.findall(ATOM + "entry")]
    eq(len(set(ids)), 2, ids)
    sm, _ = fetch_xml(s, "/sitemap.xml", "application/xml; charset=utf-8")
    locs = [u.find(SM + "loc").text for u in sm.findall(SM + "url")]
    check(BASE + "/articles/after" in locs and BASE + "/articles/before" not in locs, locs)


def feed_holds_twenty(s):
    for i in range(23):
        post(s, {"title": "Story %02d" % i, "body": "b",
                 "published_at": "2024-03-%02dT10:00:00Z" % (i + 1)})
    root, _ = fetch_xml(s, "/feed.xml", "application/atom+xml; charset=utf-8")
    titles = [e.find(ATOM + "title").text for e in root.findall(ATOM + "entry")]
    eq(titles, ["Story %02d" % i for i in range(22, 2, -1)], "the 20 newest, newest first")
    sm, _ = fetch_xml(s, "/sitemap.xml", "application/xml; charset=utf-8")
    eq(len(sm.findall(SM + "url")), 24, "the sitemap lists every story and the front page")


def empty_feeds(s):
    for path, ctype in (("/feed.xml", "application/atom+xml; charset=utf-8"),
                        ("/sitemap.xml", "application/xml; charset=utf-8"),
                        ("/news-sitemap.xml", "application/xml; charset=utf-8")):
        fetch_xml(s, path, ctype)
    root, _ = fetch_xml(s, "/feed.xml", "application/atom+xml; charset=utf-8")
    check(RFC3339.match(root.find(ATOM + "updated").text), "an empty feed has updated too")
    eq(root.findall(ATOM + "entry"), [])


def sitemap(s):
    arts = publish_all(s)
    root, _ = fetch_xml(s, "/sitemap.xml", "application/xml; charset=utf-8")
    eq(root.tag, SM + "urlset")
    urls = {}
    for u in root.findall(SM + "url"):
        loc = one(u, SM + "loc", "url").text
        check(loc not in urls, "duplicate " + loc)
        lastmod = one(u, SM + "lastmod", loc)
        check(RFC3339.match(lastmod.text), lastmod.text)
        urls[loc] = lastmod.text
    want = {BASE + "/"} | {a["url"] for a in arts.values()}
    eq(set(urls), want, "the front page and every public story, nothing else")
    for a in arts.values():
        eq(urls[a["url"]], a["updated_at"], "lastmod of " + a["slug"])
    eq(urls[BASE + "/"], max(a["updated_at"] for a in arts.values()))


def news_sitemap(s):
    arts = publish_all(s)
    root, _ = fetch_xml(s, "/news-sitemap.xml", "application/xml; charset=utf-8")
    eq(root.tag, SM + "urlset")
    got = {}
    for u in root.findall(SM + "url"):
        loc = one(u, SM + "loc", "url").text
        n = one(u, NEWS + "news", loc)
        pub = one(n, NEWS + "publication", loc)
        eq(one(pub, NEWS + "name", loc).text, SITE_TITLE)
        eq(one(pub, NEWS + "language", loc).text, "en")  # ISO 639: Google wants the language alone (zh-cn and zh-tw aside)
        date = one(n, NEWS + "publication_date", loc).text
        check(RFC3339.match(date), date)
        got[loc] = (date, one(n, NEWS + "title", loc).text)
    recent = [arts[k] for k in ("hostile", "long", "fresh")]
    eq(set(got), {a["url"] for a in recent}, "only the stories of the last 48 hours")
    for a in recent:
        eq(got[a["url"]], (a["published_at"], a["title"]), a["slug"])


def unrepresentable_characters(s):
    """U+FFFE and U+FFFF are not XML characters: a story holding them is either refused or
    written so that the feeds stay well-formed."""
    for bad in ("\ufffe", "\uffff"):
        for field in ("title", "body", "summary", "editor", "source", "author"):
            rec = {"title": "Noncharacter", "body": "x", "author": "A"}
            rec[field] = rec.get(field, "s") + bad
            st, _, a = s.json("POST", "/api/articles", rec, auth=True)
            check(st in (201, 422), "%s %r: %d %r" % (field, bad, st, a))
    for path, ctype in (("/feed.xml", "application/atom+xml; charset=utf-8"),
                        ("/sitemap.xml", "application/xml; charset=utf-8"),
                        ("/news-sitemap.xml", "application/xml; charset=utf-8")):
        fetch_xml(s, path, ctype)


QUERIES = ['"', '""', '"unterminated', "a\"b", "AND", "OR", "NOT", "a AND", "AND b", "*", "a*",
           "*a", "NEAR(", "NEAR(a b", "NEAR(a b, 5)", "a NEAR/2 b", "^", "^a", "title:", "body:x",
           "{title body}: x", "-x", "+", "(", ")", "((", "'", "\\", "a:b:c", "%", "%%", "_",
           "\u0000", "🎉", "עברית", "\u2028", "x" * 10240, '"' * 10240, "a " * 5000,
           "NEAR(" * 2000, "<script>alert(1)</script>", "' OR 1=1 --", "; DROP TABLE articles"]
RAW_QUERIES = ["%ff", "%ff%fe", "%c3%28", "%e2%82", "%ed%a0%80", "%f8%88%80%80%80", "%00",
               "a%00b", "%", "%zz", "%2", "+", "%22%22%22"]


def hostile_search(s):
    publish_all(s)
    paths = []
    for q in QUERIES:
        enc = urllib.parse.quote(q, safe="")
        paths += ["/search?q=" + enc, "/api/articles?q=" + enc]
    for q in RAW_QUERIES:
        paths += ["/search?q=" + q, "/api/articles?q=" + q]
    for path in paths:
        st, h, b = s.get(path)
        check(st < 500, "%s gave %d: %r" % (path[:80], st, b[:200]))
        for leak in (b"fts5", b"sqlite", b"syntax error", b"SQL"):
            check(leak not in b, "%s shows %r" % (path[:80], leak))
    eq(s.get("/healthz")[0], 200)
    # and search still works
    st, _, lst = s.json("GET", "/api/articles?q=Jilin")
    eq((st, [a["slug"] for a in lst["articles"]]), (200, [SEED_SLUG]))
    st, _, lst = s.json("GET", "/api/articles?q=" + urllib.parse.quote('"economic, trade"'))
    eq([a["slug"] for a in lst["articles"]], [SEED_SLUG], "punctuation inside a word")
    st, _, b = s.get("/search?q=" + urllib.parse.quote("Forty-nine"))
    eq(st, 200)
    check(b"/articles/forty-nine-hours" in b, "search page finds a hyphenated title")


run([
    ("Atom feed of hostile stories, RFC 4287", with_server(atom_feed)),
    ("entry ids survive a rename", with_server(feed_ids_survive_rename)),
    ("the feed holds the 20 newest", with_server(feed_holds_twenty)),
    ("empty feed and sitemaps are well-formed", with_server(empty_feeds)),
    ("sitemap: the front page and every public story", with_server(sitemap)),
    ("news sitemap: the last 48 hours", with_server(news_sitemap)),
    ("U+FFFE and U+FFFF keep the feeds well-formed", with_server(unrepresentable_characters)),
    ("hostile search queries never give 5xx", with_server(hostile_search)),
])
