"""test_browser.py - Debian's headless Chromium loads the front page and the seed story from the
real server; the DevTools protocol (over --remote-debugging-pipe, stdlib only) reads the rendered
DOM, the console and every Content-Security-Policy violation, and takes screenshots."""

import base64
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from harness import Server, check, eq, make_image, run
from seed import SEED, SEED_SLUG

BINARY = sys.argv[1]
CHROMIUM = "/usr/bin/chromium"

# Collects violations from the first line of every document, before the page's own parsing.
# DevTools-injected scripts are not subject to the page's script-src 'none'.
WATCH_CSP = """
window.__csp = [];
window.__shift = 0;
new PerformanceObserver(list => list.getEntries().forEach(e => {
    if (!e.hadRecentInput) window.__shift += e.value; }))
    .observe({type: 'layout-shift', buffered: true});
document.addEventListener('securitypolicyviolation', e =>
    window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));
"""


class Browser:
    """One headless Chromium with a fresh profile, driven over the DevTools pipe: fd 3 carries
    our NUL-terminated JSON commands to it, fd 4 its answers and events back."""

    def __init__(self, tmpdir):
        check(os.path.exists(CHROMIUM), "%s is missing: scripts/test installs the chromium "
              "package (TEST_PACKAGES in scripts/deps.sh); this test needs a real browser"
              % CHROMIUM)
        self.profile = os.path.join(tmpdir, "profile")
        os.mkdir(self.profile)
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def fds():
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.stderr_path = os.path.join(tmpdir, "chromium.log")
        self.stderr_file = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-quic", "--disable-extensions", "--disable-default-apps",
             "--no-default-browser-check", "--mute-audio", "--hide-scrollbars",
             # the pages are on 127.0.0.1; no other name may even be looked up
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
             "--user-data-dir=" + self.profile, "--remote-debugging-pipe", "about:blank"],
            # HOME and the XDG folders too: the browser writes nothing outside tmpdir
            env=dict(os.environ, HOME=tmpdir, XDG_CONFIG_HOME=os.path.join(tmpdir, "config"),
                     XDG_CACHE_HOME=os.path.join(tmpdir, "cache")),
            pass_fds=(3, 4), preexec_fn=fds, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.stderr_file, start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.next_id = 0
        self.buf = b""
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("Chromium did not answer in time: " + self.log()[-2000:])
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise AssertionError("Chromium closed the pipe: " + self.log()[-2000:])
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=30):
        """Sends one command and returns its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise AssertionError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method, session, timeout=30):
        deadline = time.time() + timeout
        seen = len(self.events)
        while True:
            for m in self.events[seen:]:
                if m["method"] == method and m.get("sessionId") == session:
                    return m["params"]
            seen = len(self.events)
            m = self._read_message(deadline)
            if "method" in m:
                self.events.append(m)

    def log(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def close(self):
        """Browser.close, then SIGKILL to what is left of its process group (its own id)."""
        try:
            if self.proc.poll() is None:
                self.send("Browser.close", timeout=10)
                self.proc.wait(10)
        except Exception:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait()
        os.close(self.to_browser)
        os.close(self.from_browser)
        self.stderr_file.close()


class Tab:
    """A page target with the console, the log, the network and CSP violations recorded."""

    def __init__(self, browser):
        self.b = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget",
                                    {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(domain + ".enable")
        # Every load asks the server: pages are public for cache.max_age_s, and the tests
        # publish between two loads of the same URL.
        self.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_CSP})

    def send(self, method, params=None):
        return self.b.send(method, params, session=self.session)

    def viewport(self, width, height, mobile=False, scale=1):
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": scale,
                                                         "mobile": mobile})

    def load(self, url):
        self.mark = len(self.b.events)
        r = self.send("Page.navigate", {"url": url})
        check("errorText" not in r, "navigate %s: %r" % (url, r))
        self.b.wait_event("Page.loadEventFired", self.session)

    def eval(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        check("exceptionDetails" not in r, "%s: %r" % (expression, r))
        return r["result"].get("value")

    def events(self, method):
        return [m["params"] for m in self.b.events[self.mark:]
                if m["method"] == method and m.get("sessionId") == self.session]

    def problems(self):
        """CSP violations (from the page's own event and from the console), console errors,
        exceptions and failed loads since the last load()."""
        out = ["securitypolicyviolation: " + v for v in self.eval("window.__csp") or []]
        for e in self.events("Log.entryAdded"):
            entry = e["entry"]
            if entry["level"] == "error" or "Content Security Policy" in entry["text"] or \
                    "Content-Security-Policy" in entry["text"]:
                out.append("log %s: %s %s" % (entry["level"], entry["text"], entry.get("url", "")))
        for e in self.events("Runtime.consoleAPICalled"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in e["args"])
            if e["type"] in ("error", "assert") or "Content Security Policy" in text:
                out.append("console %s: %s" % (e["type"], text))
        for e in self.events("Runtime.exceptionThrown"):
            out.append("exception: %s" % e["exceptionDetails"].get("text"))
        for e in self.events("Network.loadingFailed"):
            out.append("load failed: %s %s" % (e.get("errorText"), e.get("blockedReason", "")))
        for e in self.events("Network.responseReceived"):
            if e["response"]["status"] >= 400:
                out.append("HTTP %d %s" % (e["response"]["status"], e["response"]["url"]))
        return out

    def screenshot(self, path):
        data = base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])
        with open(path, "wb") as f:
            f.write(data)
        return data


def png_size(data):
    check(data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG: %r" % data[:16])
    return struct.unpack(">II", data[16:24])


def with_browser(fn, **kw):
    def test():
        tmp = tempfile.mkdtemp(prefix="gazette-browser-")
        s = Server(BINARY, **kw)
        b = None
        try:
            s.start()
            b = Browser(tmp)
            fn(s, Tab(b), tmp)
            eq(s.stop(), 0, "exit status")
        finally:
            if b:
                b.close()
            s.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)
    return test


def publish_seed(s):
    st, _, a = s.json("POST", "/api/articles", SEED, auth=True)
    eq(st, 201, a)


def front_page(s, tab, tmp):
    base = "http://127.0.0.1:%d" % s.port
    tab.viewport(1280, 800)
    tab.load(base + "/")
    eq(tab.eval("document.querySelector('h1').textContent"), "Coming soon!")
    eq(tab.problems(), [], "the placeholder page")
    publish_seed(s)
    tab.load(base + "/")
    eq(tab.eval("document.title"), "Gazette")
    eq(tab.eval("document.querySelector('h1').textContent"), "Gazette")
    eq(tab.eval("[...document.querySelectorAll('.teaser h2')].map(e => e.textContent)"),
       [SEED["title"]])
    eq(tab.eval("document.querySelector('.teaser time').textContent"), "2023-01-12 14:33")
    eq(tab.eval("document.querySelector('.teaser a').getAttribute('href')"),
       "/articles/" + SEED_SLUG)
    check(tab.eval("document.styleSheets.length === 1 && "
                   "document.styleSheets[0].cssRules.length > 10"), "style.css applied")
    eq(tab.problems(), [], "the front page")


def story_page(s, tab, tmp):
    publish_seed(s)
    url = "http://127.0.0.1:%d/articles/%s" % (s.port, SEED_SLUG)
    for width, height, mobile in ((1280, 800, False), (390, 844, True)):
        tab.viewport(width, height, mobile)
        tab.load(url)
        eq(tab.eval("document.querySelector('h1').textContent"), SEED["title"])
        eq(tab.eval("document.querySelectorAll('h1').length"), 1)
        eq(tab.eval("document.querySelector('time').textContent"), "2023-01-12 14:33")
        eq(tab.eval("document.querySelector('time').getAttribute('datetime')"),
           "2023-01-12T14:33:00+08:00")
        eq(tab.eval("document.querySelector('.credit').innerText"), "Source: Editor: Ye Lijiao")
        paragraphs = tab.eval("[...document.querySelectorAll('.story .body p')]"
                              ".map(p => p.textContent)")
        eq(len(paragraphs), len([p for p in SEED["body"].split("\n\n") if p.strip()]))
        check("Source: Editor: Ye Lijiao" in tab.eval("document.body.innerText"))
        eq(tab.eval("document.documentElement.lang"), "en")
        check(SEED["title"] in tab.eval("document.title"))
        ld = json.loads(tab.eval(
            "document.querySelector('script[type=\"application/ld+json\"]').textContent"))
        eq((ld["@type"], ld["headline"]), ("NewsArticle", SEED["title"]))
        # nothing wider than the screen: no sideways scrolling on a phone
        check(tab.eval("document.documentElement.scrollWidth") <= width,
              "%d px wide page at %d px" % (tab.eval("document.documentElement.scrollWidth"),
                                             width))
        eq(tab.problems(), [], "story page at %d px" % width)
        path = os.path.join(os.environ.get("GAZETTE_SCREENSHOTS", tmp), "story-%d.png" % width)
        data = tab.screenshot(path)
        eq(png_size(data), (width, height), "screenshot size")
        check(os.path.getsize(path) > 5000, "a screenshot with something on it")


def csp_violations_are_seen(s, tab, tmp):
    """The check above can fail: a layout with an inline script and an inline style (both
    refused by Gazette's CSP) makes problems() report them."""
    layout = os.path.join(s.dir, "templates", "layout.mustache")
    with open(layout) as f:
        text = f.read()
    with open(layout, "w") as f:
        f.write(text.replace("</body>", '<script>document.title = "ran"</script>\n'
                             '<p style="color: red">inline style</p>\n</body>'))
    s.kill(signal.SIGHUP)
    time.sleep(0.5)
    tab.viewport(1280, 800)
    tab.load("http://127.0.0.1:%d/" % s.port)
    check(tab.eval("document.title") != "ran", "the inline script ran despite script-src 'none'")
    problems = tab.problems()
    check(any("securitypolicyviolation: script-src" in p for p in problems), problems)
    check(any("securitypolicyviolation: style-src" in p for p in problems), problems)
    check(any(p.startswith("log error:") and "Content Security Policy" in p for p in problems),
          problems)


def offsite_images_allowed(s, tab, tmp):
    """Audit finding 14: the CSP refused every image an editor put in Markdown from another
    site. An https image (on loopback, refused at the TCP level, so no traffic leaves the
    machine) and a data: image are loaded, not blocked by the policy."""
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR4"
             "2mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
    with socket.socket() as k:  # a loopback port nobody listens on
        k.bind(("127.0.0.1", 0))
        closed = k.getsockname()[1]
    st, _, a = s.json("POST", "/api/articles", {
        "title": "Pictures", "body": "![a map](https://127.0.0.1:%d/map.png)\n\n"
        "![a dot](%s)" % (closed, pixel)}, auth=True)
    eq(st, 201, a)
    tab.viewport(1280, 800)
    tab.load("http://127.0.0.1:%d/articles/pictures" % s.port)
    eq(tab.eval("document.querySelectorAll('.story img').length"), 2)
    problems = [p for p in tab.problems()
                if not (p.startswith("load failed: net::ERR_CONNECTION_REFUSED") or
                        ("/map.png" in p and p.startswith("log error:")))]
    eq(problems, [], "off-site and data: images under the CSP")
    check(tab.eval("document.querySelector('img[alt=\"a dot\"]').naturalWidth") == 1,
          "the data: image was drawn")


def story_picture(s, tab, tmp):
    """A story with a picture: the rendition Chromium picks at 1280 px (a desktop, 1 pixel per
    point) and at 390 px (a phone, 3 pixels per point), and nothing moves as the images load
    (the layout-shift entries the browser records add up to 0)."""
    photo = make_image(BINARY, "photo", 3000, 2000, os.path.join(tmp, "photo.jpg"))
    st, _, m = s.json("POST", "/api/media?alt=Cranes", photo, auth=True,
                      headers={"Content-Type": "image/jpeg"})
    eq(st, 201, m)
    prefix = "/media/%s/%s-" % (m["id"][:2], m["id"])
    st, _, a = s.json("POST", "/api/articles", {
        "title": "Cranes", "summary": "Cranes at dusk.",
        "body": "\n\n".join(["A paragraph of text that fills the column, again and again."] * 12 +
                             ["![The quay](media:%s)" % m["id"]]),
        "image": {"media": m["id"], "alt": "Cranes", "caption": "Dusk", "credit": "Ann Lee"}},
        auth=True)
    eq(st, 201, a)
    url = "http://127.0.0.1:%d/articles/cranes" % s.port
    for width, height, scale, mobile, want in ((1280, 800, 1, False, "640.webp"),
                                               (390, 844, 3, True, "1280.webp")):
        tab.viewport(width, height, mobile=mobile, scale=scale)
        tab.load(url)
        deadline = time.time() + 10
        while not tab.eval("document.querySelector('.lead img').complete") and time.time() < deadline:
            time.sleep(0.05)
        src = tab.eval("document.querySelector('.lead img').currentSrc")
        check(src.endswith(prefix + want), "at %d px x%d: %s, want %s" % (width, scale, src, want))
        box = tab.eval("(() => { const r = document.querySelector('.lead img')"
                       ".getBoundingClientRect(); return [r.width, r.height]; })()")
        check(abs(box[1] - box[0] * 2000 / 3000) < 1.5, "the picture keeps its shape: %r" % box)
        # the body's picture, below the first screen, loads lazily: scroll to it
        tab.eval("document.querySelector('.body picture img').scrollIntoView()")
        deadline = time.time() + 10
        while not tab.eval("document.querySelector('.body picture img').complete") and \
                time.time() < deadline:
            time.sleep(0.05)
        check(tab.eval("document.querySelector('.body picture img').currentSrc").endswith(want))
        time.sleep(0.3)
        eq(tab.eval("window.__shift"), 0, "layout shift at %d px" % width)
        eq(tab.problems(), [], "the story with a picture at %d px" % width)
        shot = tab.screenshot(os.path.join(tmp, "picture-%d.png" % width))
        eq(png_size(shot), (width * scale, height * scale))


run([
    ("front page in Chromium", with_browser(front_page)),
    ("a story's picture: the rendition chosen at 1280 and 390 px, no layout shift",
     with_browser(story_picture)),
    ("off-site and data: images pass the CSP", with_browser(offsite_images_allowed)),
    ("story page in Chromium at 1280 and 390 px", with_browser(story_page)),
    ("a CSP violation is reported", with_browser(csp_violations_are_seen)),
])
