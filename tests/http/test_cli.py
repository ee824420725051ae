"""test_cli.py - gazette import, export and render against real files and a real database."""

import hashlib
import json
import os
import subprocess
import sys
import tempfile

from harness import SOURCE_ROOT, Server, check, eq, run
from seed import SEED_SLUG

BINARY = sys.argv[1]
CONTENT = os.path.join(SOURCE_ROOT, "content", "jilin-russian-far-east.json")


def site():
    return Server(BINARY)


def cli(s, *args, input=None):
    return s.run_cli(*args, input=input)


def export(s):
    r = cli(s, "export", "-c", s.config_path)
    eq(r.returncode, 0, r.stderr)
    return json.loads(r.stdout)["articles"]


def import_twice():
    s = site()
    try:
        for _ in range(2):
            r = cli(s, "import", "-c", s.config_path, CONTENT)
            eq(r.returncode, 0, r.stderr)
        arts = export(s)
        eq(len(arts), 1, "importing the demo content twice leaves one article")
        eq(arts[0]["slug"], SEED_SLUG)
        eq(arts[0]["editor"], "Ye Lijiao")
    finally:
        s.cleanup()


def write(s, name, value):
    path = os.path.join(s.dir, name)
    with open(path, "w") as f:
        f.write(value if isinstance(value, str) else json.dumps(value))
    return path


def shapes_and_stdin():
    s = site()
    try:
        a = write(s, "a.json", {"title": "One", "body": "x"})
        b = write(s, "b.json", [{"title": "Two", "body": "x"}, {"title": "Three", "body": "x"}])
        c = write(s, "c.json", {"articles": [{"title": "Four", "body": "x", "status": "draft"}]})
        r = cli(s, "import", "-c", s.config_path, a, b, c, "-",
                input=b'{"title": "Five", "body": "from stdin"}')
        eq(r.returncode, 0, r.stderr)
        eq(sorted(x["slug"] for x in export(s)), ["five", "four", "one", "three", "two"])
    finally:
        s.cleanup()


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def malformed_changes_nothing():
    s = site()
    try:
        r = cli(s, "import", "-c", s.config_path, CONTENT)
        eq(r.returncode, 0, r.stderr)
        db = os.path.join(s.dir, "gazette.db")
        before = digest(db)
        good = write(s, "good.json", [{"title": "Fine", "body": "x"}])
        bad = write(s, "bad.json", [{"title": "ok", "body": "x"}, {"title": "", "body": "x"},
                                    {"title": "t", "body": "x", "tags": ["a"] * 21},
                                    {"title": "t", "body": "x", "colour": "red"}])
        broken = write(s, "broken.json", '[{"title": "x",\n "body": }]')
        r = cli(s, "import", "-c", s.config_path, good, bad, broken)
        eq(r.returncode, 1)
        err = r.stderr.decode()
        check("bad.json[1]: title: " in err, err)
        check("bad.json[2]: tags: " in err, err)
        check("bad.json[3]: colour: " in err, err)
        check("broken.json:2:" in err, err)
        check("good.json" not in err, err)
        eq(digest(db), before, "the database is byte-for-byte unchanged")
        eq(len(export(s)), 1)
    finally:
        s.cleanup()


def round_trip():
    s1, s2 = site(), site()
    try:
        # a gap in the ids (2 is missing): export and re-import must keep them
        items = [{"id": 1, "title": "Alpha", "body": "**a**", "tags": ["X", "y"],
                  "author": "Ann"},
                 {"id": 3, "title": "Gamma", "body": "c",
                  "published_at": "2099-05-01T08:00:00-04:00"},
                 {"id": 4, "title": "北京新闻", "body": "中文"},
                 {"id": 6, "title": "Beta", "body": "b", "status": "draft"}]
        r = cli(s1, "import", "-c", s1.config_path, write(s1, "in.json", items))
        eq(r.returncode, 0, r.stderr)
        first = export(s1)
        eq(len(first), 4)
        check(any(a["slug"] == "article-4" for a in first), [a["slug"] for a in first])
        dump = write(s2, "dump.json", {"articles": first})
        r = cli(s2, "import", "-c", s2.config_path, dump)
        eq(r.returncode, 0, r.stderr)
        eq(export(s2), first, "export -> import -> export gives the same records")
    finally:
        s1.cleanup()
        s2.cleanup()


def render_command():
    with tempfile.TemporaryDirectory() as d:
        def w(name, text):
            p = os.path.join(d, name)
            with open(p, "w") as f:
                f.write(text)
            return p
        w("base.mustache", "<b>{{$x}}default{{/x}}</b>")
        page = w("page.mustache", "{{<base}}{{$x}}Hi {{name}}{{/x}}{{/base}}\n")
        data = w("data.json", '{"name": "<you>"}')
        r = subprocess.run([BINARY, "render", "-t", d, page, data], capture_output=True)
        eq(r.returncode, 0, r.stderr)
        eq(r.stdout, b"<b>Hi &lt;you&gt;</b>\n")
        os.mkdir(os.path.join(d, "other"))
        bad = w("other/bad.mustache", "line one\n  {{#open}}\n")
        r = subprocess.run([BINARY, "render", bad, data], capture_output=True)
        eq(r.returncode, 1)
        check(b"bad.mustache:2:3:" in r.stderr, r.stderr)
        r = subprocess.run([BINARY, "render", page, data], capture_output=True)
        eq(r.returncode, 1, "unknown parent without -t")
        check(b"unknown partial 'base'" in r.stderr, r.stderr)
        r = subprocess.run([BINARY, "render", "-t", d, page, w("bad.json", "{nope")],
                           capture_output=True)
        eq(r.returncode, 1)
        check(b"bad.json:1:" in r.stderr, r.stderr)
        r = subprocess.run([BINARY, "render", page], capture_output=True)
        eq(r.returncode, 2)
        # the site's own templates render the story from the demo content
        ctx = w("ctx.json", json.dumps({"site": {"title": "S", "language": "en"}, "page": {},
                                        "article": {"title": "T", "date": "D", "editor": "E",
                                                    "body_html": "<p>b</p>"}}))
        r = subprocess.run([BINARY, "render", "-t", os.path.join(SOURCE_ROOT, "templates"),
                            os.path.join(SOURCE_ROOT, "templates", "article.mustache"), ctx],
                           capture_output=True)
        eq(r.returncode, 0, r.stderr)
        check(b"<h1>T</h1>" in r.stdout and b"Source: Editor: E" in r.stdout, r.stdout)


def migrate_command():
    s = Server(BINARY, sqlite=True)
    try:
        r = cli(s, "import", "-c", s.config_path, CONTENT)
        eq(r.returncode, 0, r.stderr)
        before = export(s)
        # usage errors: exit 2, nothing written
        for args, says in ((["migrate", "-c", s.config_path], b"needs --to"),
                           (["migrate", "-c", s.config_path, "--to", "postgres:/x"],
                            b"not a postgresql:// URL"),
                           (["migrate", "-c", s.config_path, "--to", "x", "extra"],
                            b"unexpected argument 'extra'"),
                           (["export", "-c", s.config_path, "--to", "x"], b"takes no --to"),
                           (["migrate", "-c", s.config_path, "--to", os.path.join(s.dir, "gazette.db")],
                            b"the configured database itself")):
            r = cli(s, *args)
            eq(r.returncode, 2, (args, r.stderr))
            check(says in r.stderr, r.stderr)
        # into a new SQLite file: the same records; a second time it is not empty
        other = os.path.join(s.dir, "other.db")
        r = cli(s, "migrate", "-c", s.config_path, "--to", other)
        eq(r.returncode, 0, r.stderr)
        check(("migrated 1 article to %s" % other).encode() in r.stderr, r.stderr)
        r = cli(s, "migrate", "-c", s.config_path, "--to", other)
        eq(r.returncode, 1, r.stderr)
        check(b"already holds 1 article: nothing copied" in r.stderr, r.stderr)
        again = Server(BINARY, config={"paths": {"database": other}})
        try:
            eq(export(again), before)
        finally:
            again.cleanup()
    finally:
        s.cleanup()


run([
    ("import twice leaves one article", import_twice),
    ("import: object, array, {articles:[]} and stdin", shapes_and_stdin),
    ("a malformed import changes nothing and names every bad record", malformed_changes_nothing),
    ("export -> import -> export round trip", round_trip),
    ("render", render_command),
    ("migrate: usage, a new file, a target that is not empty", migrate_command),
])
