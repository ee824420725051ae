"""test_languages.py - SPEC §15 over HTTP: Chinese, Japanese, Korean and German search, tags in
every script, a story's own language on its page, feed and sitemap, GitHub-flavoured Markdown,
and ninjs 3.1 out (validated against IPTC's schema) and in (IPTC's examples, Superdesk's
dialect, hostile documents), also through `gazette import|export --format ninjs`."""

import copy
import json
import os
import re
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET

import jsonschema

import pg

from harness import SOURCE_ROOT, post, check, eq, run, server_test
from seed import SEED, SEED_SLUG

BINARY = sys.argv[1]
NINJS_DIR = os.path.join(SOURCE_ROOT, "..", "shared", "ninjs")
with open(os.path.join(NINJS_DIR, "ninjs-schema_3.1.json")) as f:
    SCHEMA = json.load(f)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
EXAMPLES = ["001_simple_example.json", "004_simple_text_article.json",
            "005_complex_text_article.json"]
ATOM = "{http://www.w3.org/2005/Atom}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"

# The seed story's Chinese edition (SPEC §15: what the issue tried as a new user).
CHINESE = {
    "title": "吉林省经贸代表团赴俄罗斯远东地区开展经贸活动",
    "body": "吉林省经贸代表团周一从珲春陆路口岸出发，赴俄罗斯远东地区开展为期五天的经贸交流活动。\n\n"
            "| 城市 | 人口 |\n|---|---|\n| 珲春 | 23万 |\n\n~~旧闻~~ 详见 www.example.org",
    "language": "zh-Hans",
    "editor": "叶丽娇",
    "tags": ["经济", "World News"],
    "published_at": "2023-01-12T14:33:00+08:00",
}
TAG_PATH = "/tags/%E7%BB%8F%E6%B5%8E"


def ninjs_errors(doc):
    return ["%s: %s" % ("/".join(str(p) for p in e.path), e.message)
            for e in VALIDATOR.iter_errors(doc)]


def slugs(data):
    return [a["slug"] for a in data["articles"]]


def search(s, q, want):
    st, _, data = s.json("GET", "/api/articles?q=" + urllib.parse.quote(q))
    eq(st, 200, q)
    eq(slugs(data), want, "API search for %r" % q)
    st, _, html = s.get("/search?q=" + urllib.parse.quote(q))
    eq(st, 200)
    page = html.decode()
    for slug in want:
        check('href="/articles/%s"' % slug in page, "search page for %r lacks %s" % (q, slug))
    if not want:
        check('href="/articles/' not in page, "search page for %r found something" % q)


def chinese_story(s):
    zh = post(s, CHINESE)
    eq(zh["slug"], "article-1")  # no Latin letters in the title
    eq(zh["language"], "zh-Hans")
    eq(zh["tags"], ["经济", "world-news"])
    other = post(s, {"title": "Straße in Zürich", "body": "Grüße aus der Schweiz. 🎉 party",
                     "language": "de-CH", "tags": ["Zürich"]})
    ja = post(s, {"title": "東京の経済ニュース", "body": "東京都で新しいコーヒー店がオープンしました。",
                  "language": "ja", "tags": ["東京"]})
    ko = post(s, {"title": "한국 경제 소식", "body": "한국 경제가 성장했다.", "language": "ko"})
    en = post(s, {"title": "Plain English", "body": "Nothing else here."})
    eq(en["language"], "en")  # the site's

    # search in every script, through the page and the API
    for q in ("吉林", "珲春", "经贸", "吉林省经贸", "代表团", "陆路口岸"):
        search(s, q, [zh["slug"]])
    search(s, "吉", [zh["slug"]])   # one character: the terms it begins
    search(s, "林吉", [])           # bigrams are ordered
    search(s, "东京", [])           # simplified 东 is another character than 東
    search(s, "東京", [ja["slug"]])
    search(s, "コーヒー", [ja["slug"]])
    search(s, "경제", [ko["slug"]])
    search(s, "zurich", [other["slug"]])
    search(s, "ZÜRICH", [other["slug"]])
    search(s, "strasse", [other["slug"]])
    search(s, "grusse", [other["slug"]])
    search(s, "🎉", [other["slug"]])
    search(s, "经贸 珲春", [zh["slug"]])
    search(s, "经贸 zurich", [])

    # the tag in its own script: a page, a percent-encoded link, the readable name everywhere
    st, _, page = s.get(TAG_PATH)
    eq(st, 200)
    page = page.decode()
    check('href="/articles/%s"' % zh["slug"] in page, "tag page lacks the story")
    check("Stories tagged “经济”" in page, "tag page names the tag")
    check('<link rel="canonical" href="http://news.test%s">' % TAG_PATH in page, "canonical")
    st, _, page = s.get("/articles/" + zh["slug"])
    page = page.decode()
    check('<a href="%s">经济</a>' % TAG_PATH in page, "story page links its tag")
    check('<meta property="article:tag" content="经济">' in page)
    st, _, data = s.json("GET", "/api/articles?tag=" + urllib.parse.quote("经济"))
    eq(slugs(data), [zh["slug"]], "API ?tag=经济")
    st, _, data = s.json("GET", "/api/articles?tag=" + urllib.parse.quote("ZÜRICH"))
    eq(slugs(data), [other["slug"]], "API ?tag= is normalized as stored")
    eq(s.get("/tags/" + urllib.parse.quote("東京"))[0], 200)
    for bad in ("/tags/%E7%BB%8F%E6%B5%8E-", "/tags/World-News", "/tags/%FF%FE",
                "/tags/%F0%9F%8E%89", "/tags/z%C3%BCrich"):
        eq(s.get(bad)[0], 404, bad)
    eq(s.get("/tags/zurich")[0], 200)

    # the story's own language: page, JSON-LD, feed, news sitemap (Google's code)
    check('<html lang="zh-Hans">' in page, "story page lang")
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page).group(1))
    eq(ld["inLanguage"], "zh-Hans")
    check('<html lang="en">' in s.get("/")[2].decode(), "front page is the site's")
    check('<html lang="de-CH">' in s.get("/articles/" + other["slug"])[2].decode())
    feed = ET.fromstring(s.get("/feed.xml")[2])
    langs = {e.find(ATOM + "title").text: e.get("{http://www.w3.org/XML/1998/namespace}lang")
             for e in feed.findall(ATOM + "entry")}
    eq(langs[CHINESE["title"]], "zh-Hans")
    eq(langs["Plain English"], "en")
    terms = [c.get("term") for e in feed.findall(ATOM + "entry")
             if e.find(ATOM + "title").text == CHINESE["title"] for c in e.findall(ATOM + "category")]
    eq(terms, ["经济", "world-news"])

    # GitHub-flavoured Markdown through the page
    check("<table>" in page and "<td>珲春</td>" in page, "a Markdown table")
    check("<del>旧闻</del>" in page, "strikethrough")
    check('<a href="http://www.example.org">www.example.org</a>' in page, "autolink")


def news_languages(s):
    now = __import__("datetime").datetime.now(__import__("datetime").timezone.utc)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    for title, lang in (("简体", "zh-Hans"), ("繁體", "zh-Hant"), ("台灣", "zh-TW"),
                        ("English news", None), ("Deutsch", "de-AT")):
        body = {"title": title, "body": "x", "published_at": stamp}
        if lang:
            body["language"] = lang
        post(s, body)
    doc = ET.fromstring(s.get("/news-sitemap.xml")[2])
    got = {}
    for u in doc.findall(SM + "url"):
        n = u.find(NEWS + "news")
        got[n.find(NEWS + "title").text] = n.find(NEWS + "publication").find(NEWS + "language").text
    eq(got, {"简体": "zh-cn", "繁體": "zh-tw", "台灣": "zh-tw", "English news": "en",
             "Deutsch": "de"})


def bad_input(s):
    post(s, {"title": "Kept", "body": "x", "slug": "kept"})
    cases = [
        ({"title": "x", "body": "y", "language": "zh_CN"}, "language"),
        ({"title": "x", "body": "y", "language": "english-languages"}, "language"),
        ({"title": "x", "body": "y", "language": 7}, "language"),
        ({"title": "x", "body": "y", "tags": ["🎉"]}, "tags[0]"),
        ({"title": "x", "body": "y", "tags": ["ok", "!!! ???"]}, "tags[1]"),
        ({"title": "x", "body": "y", "uri": "no scheme here"}, "uri"),
    ]
    for body, field in cases:
        st, _, data = post(s, body, want=None)
        eq(st, 422, body)
        check(data["error"]["message"].startswith(field + ":"), data)
    # 10 MB of bigrams is refused from its header, before a byte of it is read
    big = len(json.dumps({"title": "大", "body": "吉林" * (5 * 1024 * 1024)}).encode())
    for path in ("/api/articles", "/api/ninjs"):
        head = ("POST %s HTTP/1.1\r\nHost: news.test\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (path, s.token, big)).encode()
        answer = s.raw(head, timeout=2, read_all=False)
        check(answer.startswith(b"HTTP/1.1 413 "), answer[:100])
        check(b"max_body_bytes" in answer, answer)
    st, _, data = s.json("GET", "/api/articles?per_page=100&status=all", auth=True)
    eq(slugs(data), ["kept"], "nothing stored")


def seed_ninjs(s):
    seed = post(s, SEED)
    st, h, doc = s.json("GET", "/api/ninjs/" + SEED_SLUG)
    eq(st, 200)
    eq(ninjs_errors(doc), [])
    eq(doc["uri"], "http://news.test/articles/" + SEED_SLUG)
    eq(doc["headlines"], [{"role": "main", "value": SEED["title"]}])
    eq(doc["bodies"][0]["contentType"], "text/html")
    eq(doc["bodies"][0]["value"], seed["body_html"])
    eq(doc["infoSources"], [{"name": "Ye Lijiao", "role": "editor"}])
    eq(doc["firstCreated"], "2023-01-12T14:33:00+08:00")
    eq(doc["versionCreated"], seed["updated_at"])
    eq(doc["pubStatus"], "usable")
    eq(doc["language"], "en")
    check("subjects" not in doc and "by" not in doc, doc.keys())
    eq(s.get("/api/ninjs/no-such-story")[0], 404)
    # a story with every field
    full = post(s, dict(CHINESE, title="全 every field", summary="摘要", source="新华社",
                        author="王小明", status="draft"))
    eq(s.get("/api/ninjs/" + full["slug"])[0], 404)  # a draft, to readers
    st, _, doc = s.json("GET", "/api/ninjs/%s?status=all" % full["slug"], auth=True)
    eq(st, 200)
    eq(ninjs_errors(doc), [])
    eq(doc["pubStatus"], "withheld")
    eq(doc["language"], "zh-Hans")
    eq(doc["by"], "王小明")
    eq(doc["descriptions"], [{"role": "summary", "value": "摘要"}])
    eq(doc["infoSources"], [{"name": "新华社", "role": "source"},
                            {"name": "叶丽娇", "role": "editor"}])
    eq(doc["subjects"], [{"name": "经济", "uri": "http://news.test" + TAG_PATH},
                         {"name": "world-news", "uri": "http://news.test/tags/world-news"}])
    # posting Gazette's own document back changes that story, not a new one
    doc["headlines"][0]["value"] = "全 changed"
    st, _, back = s.json("POST", "/api/ninjs", doc, auth=True)
    eq(st, 200, back)
    eq((back["id"], back["slug"], back["title"]), (full["id"], full["slug"], "全 changed"))
    eq(back["body_html"], full["body_html"], "an HTML body comes back as the same HTML")


def official_examples(s):
    for name in EXAMPLES:
        with open(os.path.join(NINJS_DIR, name)) as f:
            doc = json.load(f)
        eq(ninjs_errors(doc), [], name)
        st, h, data = s.json("POST", "/api/ninjs", doc, auth=True)
        check(st in (200, 201), (name, st, data))
        eq(data["title"], doc["headlines"][0]["value"])
        eq(data["uri"], doc["uri"])
        eq(data["published_at"], doc["versionCreated"])
        check("Costa Concordia" in data["body_html"], data["body_html"][:200])
        if name == "005_complex_text_article.json":
            eq(data["language"], "en")
            eq(sorted(data["ignored"]), ["copyrightNotice", "located", "organisations",
                                          "people", "places", "profile"])
        st, _, out = s.json("GET", "/api/ninjs/" + data["slug"])
        eq(ninjs_errors(out), [], name + " as Gazette gives it back")
        eq(out["uri"], doc["uri"])
    # 001 and 004 share their uri: one story, the second an update
    st, _, data = s.json("GET", "/api/articles?per_page=100")
    eq(data["total"], 2, slugs(data))


def superdesk_dialect(s):
    item = {
        "guid": "urn:newsml:localhost:2016-09-23T13:56:39.404843:1",
        "type": "text", "version": "2", "pubstatus": "usable", "language": "zh-Hans",
        "headline": "吉林省经贸代表团", "byline": "新华社记者",
        "body_html": "<p>吉林省经贸代表团周一从<b>珲春</b>出发。</p><script>alert(1)</script>"
                     "<p onclick=\"x()\">第二段 <a href=\"javascript:alert(1)\">链接</a></p>",
        "versioncreated": "2023-01-12T06:40:00+0000".replace("+0000", "Z"),
        "firstcreated": "2023-01-12T06:33:00Z",
        "subject": [{"name": "经济", "code": "04000000", "scheme": "subject_custom"},
                    {"code": "01000000"}],
        "urgency": 3, "priority": 5, "slugline": "jilin", "description_text": "吉林 摘要",
        "source": "Xinhua", "extra": {"x": 1},
    }
    st, _, data = s.json("POST", "/api/ninjs", item, auth=True)
    eq(st, 201, data)
    eq(data["uri"], item["guid"])
    eq(data["tags"], ["经济"])
    eq((data["author"], data["source"], data["language"]), ("新华社记者", "Xinhua", "zh-Hans"))
    eq(data["summary"], "吉林 摘要")
    html = data["body_html"]
    check("<strong>珲春</strong>" in html, html)
    check("<script" not in html and "alert(1)" not in html and "onclick" not in html, html)
    check("链接" in html and "javascript" not in html, html)
    eq(sorted(data["ignored"]), ["extra", "priority", "slugline", "urgency", "version"])
    item["headline"] = "吉林省经贸代表团 更新"
    st, _, again = s.json("POST", "/api/ninjs", item, auth=True)
    eq((st, again["id"], again["slug"]), (200, data["id"], data["slug"]))
    search(s, "珲春", [data["slug"]])


def hostile_ninjs(s):
    base = {"uri": "urn:x:1", "headlines": [{"value": "H"}], "bodies": [{"value": "B"}]}

    def refuse(doc, field, status=422):
        st, _, data = s.json("POST", "/api/ninjs", doc, auth=True)
        eq(st, status, (doc, data))
        check(data["error"]["message"].startswith(field + ":"), (field, data))

    no_uri = copy.deepcopy(base)
    del no_uri["uri"]
    refuse(no_uri, "uri")
    refuse(dict(base, uri=""), "uri")
    refuse(dict(base, uri=5), "uri")
    refuse(dict(base, uri="not a uri"), "uri")
    refuse(dict(base, headlines="H"), "headlines")
    refuse(dict(base, headlines=["H"]), "headlines[0]")
    refuse(dict(base, headlines=[{"value": 5}]), "headlines[0].value")
    refuse(dict(base, headlines=[]), "headlines")
    refuse(dict(base, bodies=[]), "bodies")
    refuse(dict(base, bodies=[{"value": "   "}]), "bodies")
    refuse(dict(base, bodies=[{"value": "x", "contentType": 3}]), "bodies[0].contentType")
    refuse(dict(base, language="zh_CN"), "language")
    refuse(dict(base, pubStatus="live"), "pubStatus")
    refuse(dict(base, firstCreated="yesterday"), "firstCreated")
    refuse(dict(base, type="picture"), "type")
    refuse(dict(base, subjects=[{"name": "ok"}, {"name": "🎉"}]), "subjects[1]")
    refuse(dict(base, subjects=[{"name": 5}]), "subjects[0].name")
    refuse(dict(base, headline="typo of headlines"), "headline")
    refuse(dict(base, by=["x"]), "by")
    # markup libxml2 would spend minutes on, or that would make far more text than it is
    attrs = "<p " + " ".join("a%d=1" % i for i in range(200)) + ">x</p>"
    refuse(dict(base, bodies=[{"contentType": "text/html", "value": attrs}]), "bodies[0]")
    refuse({"guid": "urn:x:2", "headline": "H", "body_html": attrs}, "body_html")
    st, _, data = s.request("POST", "/api/ninjs", body=b"[1, 2]", auth=True,
                            headers={"Content-Type": "application/json"})
    eq(st, 422)
    eq(s.json("POST", "/api/ninjs", base)[0], 401)  # writes need the token
    st, _, data = s.json("GET", "/api/articles?status=all", auth=True)
    eq(data["total"], 0, "nothing stored")

    # HTML with scripts is sanitized like Markdown output; its structure stays
    doc = dict(base, bodies=[{"contentType": "text/html", "value":
        "<h2>Head</h2><p>One <em>two</em> <strong>three</strong> <del>four</del></p>"
        "<script>alert('x')</script><style>p{}</style><iframe src=\"x\"></iframe>"
        "<ul><li>a</li><li>b <a href=\"https://example.org/?a=1&amp;b=2\">link</a></li></ul>"
        "<blockquote><p>quoted</p></blockquote><pre><code>x &lt; y</code></pre>"
        "<table><tr><th>k</th><th>v</th></tr><tr><td>1</td><td>a|b</td></tr></table>"
        "<p>*not emphasis* [not](a link) &lt;b&gt;not bold&lt;/b&gt; 1. not a list</p>"
        "<img src=\"javascript:alert(1)\" alt=\"alt text\" onerror=\"alert(1)\">"
        "<a href=\"data:text/html,x\">data</a>" + "<div><b>" * 100 + "deep" + "</b></div>" * 100}])
    st, _, data = s.json("POST", "/api/ninjs", doc, auth=True)
    eq(st, 201, data)
    html = data["body_html"]
    for want in ("<h2>Head</h2>", "<em>two</em>", "<strong>three</strong>", "<del>four</del>",
                 "<li>a</li>", '<a href="https://example.org/?a=1&amp;b=2">link</a>',
                 "<blockquote>\n<p>quoted</p>", "<pre><code>x &lt; y\n</code></pre>",
                 "<th>k</th>", "<td>a|b</td>", "*not emphasis* [not](a link)",
                 "&lt;b&gt;not bold&lt;/b&gt; 1. not a list", "alt text", "deep"):
        check(want in html, "%r not in %r" % (want, html))
    for never in ("<script", "alert(", "<style", "<iframe", "onerror", "javascript:", "data:",
                  "<img", "<ol"):
        check(never not in html, "%r in %r" % (never, html))


def cli_ninjs(s):
    post(s, CHINESE)
    post(s, SEED)
    out = subprocess.run([BINARY, "export", "-c", s.config_path, "--format", "ninjs"],
                         capture_output=True, check=True)
    docs = json.loads(out.stdout)
    eq(len(docs), 2)
    for d in docs:
        eq(ninjs_errors(d), [])
    # into an empty site, with IPTC's examples and a bad document beside them
    path = os.path.join(s.dir, "in.json")
    examples = []
    for name in EXAMPLES:
        with open(os.path.join(NINJS_DIR, name)) as f:
            examples.append(json.load(f))
    with open(path, "w") as f:
        json.dump(docs + examples + [{"uri": "urn:bad", "headlines": "x", "bodies": []}], f)
    cfg = open(s.config_path).read().replace("gazette.db", "other.db")
    cluster = pg.attached()
    if cluster:  # on PostgreSQL the other site is another, empty database
        cfg = re.sub(r"^url = .*$", "url = " + cluster.new_database(), cfg, flags=re.M)
    other_cfg = os.path.join(s.dir, "other.ini")
    with open(other_cfg, "w") as f:
        f.write(cfg)
    r = subprocess.run([BINARY, "import", "-c", other_cfg, "--format", "ninjs", path],
                       capture_output=True)
    eq(r.returncode, 1)
    check(b"in.json[5]: headlines: must be an array of objects" in r.stderr, r.stderr)
    eq(json.loads(subprocess.run([BINARY, "export", "-c", other_cfg], capture_output=True,
                                 check=True).stdout)["articles"], [], "a bad file imported")
    with open(path, "w") as f:
        json.dump(docs + examples, f)
    r = subprocess.run([BINARY, "import", "-c", other_cfg, "--format", "ninjs", path],
                       capture_output=True)
    eq(r.returncode, 0, r.stderr)
    check(b"in.json[4]: left out (no place in a story): profile, copyrightNotice" in r.stderr,
          r.stderr)
    out = subprocess.run([BINARY, "export", "-c", other_cfg, "--format", "ninjs"],
                         capture_output=True, check=True)
    again = json.loads(out.stdout)
    eq(len(again), 4)  # two of IPTC's examples share a uri
    byuri = {d["uri"]: d for d in again}
    for d in docs:
        got = byuri[d["uri"]]
        for key in ("headlines", "bodies", "language", "firstCreated", "versionCreated",
                    "subjects", "infoSources", "pubStatus"):
            eq(got.get(key), d.get(key), key)
    r = subprocess.run([BINARY, "export", "-c", other_cfg, "--format", "xml"],
                       capture_output=True)
    eq(r.returncode, 2)


def test(fn, **kw):
    return server_test(BINARY, fn, **kw)


run([
    ("Chinese, Japanese, Korean and German stories: search, tags, language, GFM",
     test(chinese_story)),
    ("news sitemap speaks Google's language codes", test(news_languages)),
    ("bad language, tags, uri and 10 MB of bigrams: 4xx naming the field, nothing stored",
     test(bad_input)),
    ("ninjs of the seed story and of a story with every field validate", test(seed_ninjs)),
    ("IPTC's ninjs examples import, and come back valid", test(official_examples)),
    ("Superdesk's ninjs dialect upserts by guid", test(superdesk_dialect)),
    ("hostile ninjs: each a 422 naming the field; HTML sanitized", test(hostile_ninjs)),
    ("gazette import|export --format ninjs", test(cli_ninjs)),
])
