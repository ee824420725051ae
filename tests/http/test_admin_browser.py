"""test_admin_browser.py - the editor's pages in a real browser: tests/browser/admin.mjs drives
Debian's /usr/bin/chromium with npm's playwright-core (scripts/test runs `npm ci` in
tests/browser) from the setup link to a published, corrected and restored story with a photo;
axe-core runs on every admin page, each photographed at 1280 and 390 pixels. This file starts the
server, hands the script its address and setup code, and checks what the store holds after."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

from harness import SOURCE_ROOT, Server, check, eq, make_image, run
from test_admin import setup_code, story

BINARY = sys.argv[1]
BROWSER_DIR = os.path.join(SOURCE_ROOT, "tests", "browser")
TITLE = "Harbour reopens"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_newsroom_day():
    check(os.path.exists("/usr/bin/chromium"), "/usr/bin/chromium is missing: scripts/test "
          "installs the chromium package")
    check(shutil.which("node"), "node is missing: scripts/test installs nodejs")
    check(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
          "tests/browser/node_modules is missing: scripts/test runs npm ci there")
    tmp = tempfile.mkdtemp(prefix="gazette-admin-browser-")
    port = free_port()
    # the base URL is the address the browser uses: every link the pages make stays on it
    s = Server(BINARY, token=None, sqlite=True,
               config={"server": {"port": str(port),
                                  "base_url": "http://127.0.0.1:%d" % port}})
    try:
        s.start()
        image = os.path.join(tmp, "harbour.jpg")
        make_image(BINARY, "photo", 1600, 900, image)
        shots = os.environ.get("GAZETTE_SCREENSHOTS") or os.path.join(tmp, "shots")
        arg = {"base": "http://127.0.0.1:%d" % s.port, "code": setup_code(s), "image": image,
               "shots": shots, "timezone": "Asia/Shanghai", "title": TITLE}
        out = subprocess.run(["node", os.path.join(BROWSER_DIR, "admin.mjs"), json.dumps(arg)],
                             capture_output=True, text=True, timeout=240, cwd=BROWSER_DIR)
        lines = out.stdout.strip().splitlines()
        check(lines, "admin.mjs printed nothing (exit %d): %s" % (out.returncode, out.stderr))
        seen = json.loads(lines[-1])
        check(out.returncode == 0, "the browser failed at '%s': %s\n%s" % (
            seen.get("failed"), seen.get("error"), out.stderr[-2000:]))
        print("# %s; on the front page %d ms after its time" % (seen["browser"],
                                                                  seen["front_after_ms"]))
        pages = seen["pages"]
        for name, page in sorted(pages.items()):
            print("# %-15s %-40s %5.2f ms" % (name, page["url"], page.get("ttfb_ms", -1)))
        found = {name: p["violations"] for name, p in pages.items() if p["violations"]}
        eq(found, {}, "axe-core's violations, by page")
        csp = {name: p["csp"] for name, p in pages.items() if p["csp"]}
        eq(csp, {}, "CSP violations, by page")
        for page in ("login-first", "setup", "stories", "editor-new", "editor", "editor-refused",
                     "revisions", "accounts", "tokens", "webhooks", "audit", "password",
                     "not-found", "login"):
            check(page in pages, "audited: " + page)
            for width in (1280, 390):
                shot = os.path.join(shots, "%s-%d.png" % (page, width))
                check(os.path.getsize(shot) > 5000, "a screenshot: " + shot)
        # what the store holds is what the browser did
        a = story(s, seen["slug"])
        check(a, "the story is stored")
        eq((a["title"], a["status"]), (TITLE, "published"), "restored to the scheduled version")
        eq(a["authors"], ["reporter"], "the contributor's byline, not the editor's")
        eq(a["image"]["alt"], "Cranes over the harbour at dawn")
        eq([c["text"] for c in a["corrections"]],
           ["An earlier version gave the wrong number of ships."], "the correction is kept")
        check("<table>" in a["body_html"], a["body_html"])
        st, _, front = s.get("/")
        eq(st, 200)
        check(TITLE.encode() in front, "on the front page")
        eq(s.stop(), 0, "exit status after SIGTERM")
    finally:
        s.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run([("a newsroom's day in Chromium", test_newsroom_day)])
