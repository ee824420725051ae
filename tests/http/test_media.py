"""test_media.py - SPEC §12 against the real binary and the real libvips: uploads streamed to
a file and made into WebP and JPEG renditions off the request threads, every refusal with
nothing stored, EXIF rotation and GPS gone from every rendition (read back with exiftool),
/media/ served immutable, a story's picture on its page, in its share tags, JSON-LD, the feed
and the news sitemap, roles, the queue's 503, kill -9 and the collector, export and import.

Images are made by tests/mkimage (libvips) at the start of the run; a decompression bomb is a
PNG header written here by hand."""

import glob
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

from harness import SOURCE_ROOT, Server, check, eq, run

BINARY = sys.argv[1]
MKIMAGE = sys.argv[2]
BOOT = "boot-token-0123456789abcdef"
IMAGES = tempfile.mkdtemp(prefix="gazette-images-")


def make(kind, w, h, name, seed=1):
    path = os.path.join(IMAGES, name)
    subprocess.run([MKIMAGE, kind, str(w), str(h), path, str(seed)], check=True)
    with open(path, "rb") as f:
        return f.read()


def with_gps(data, name):
    """The JPEG with GPS coordinates (the Eiffel Tower's) and a camera in its EXIF."""
    path = os.path.join(IMAGES, name)
    with open(path, "wb") as f:
        f.write(data)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-GPSLatitude=48.8584",
                    "-GPSLatitudeRef=N", "-GPSLongitude=2.2945", "-GPSLongitudeRef=E",
                    "-Make=TestCam", "-Model=TC-1", path], check=True)
    with open(path, "rb") as f:
        return f.read()


def exif(path):
    """Every tag exiftool finds in the file, by group:name."""
    out = subprocess.run(["exiftool", "-j", "-G", "-a", "-n", path], capture_output=True,
                         check=True).stdout
    return json.loads(out)[0]


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def bomb_png():
    """A PNG that claims 100,000 x 100,000 pixels (40 GB decoded), in a few hundred bytes."""
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 6, 0, 0, 0)
    rows = zlib.compress(b"\0" * 400001 * 4)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", rows) +
            png_chunk(b"IEND", b""))


class Site:
    """A server with an admin, an editor and a contributor, each with a token."""

    def __init__(self, config=None, **kw):
        cfg = {"server": {"threads": "2"}}
        for k, v in (config or {}).items():
            cfg.setdefault(k, {}).update(v)
        self.s = Server(BINARY, token=BOOT, config=cfg, **kw)
        self.s.start()
        self.tokens = {}
        for handle, role in (("root", "admin"), ("ed", "editor"), ("alice", "contributor")):
            auth = self.tokens.get("root", BOOT)
            st, _, _ = self.call("POST", "/api/users", {"handle": handle, "name": handle.title(),
                                                        "role": role}, who=auth)
            eq(st, 201, "account " + handle)
            st, _, t = self.call("POST", "/api/users/%s/tokens" % handle, {"name": "t"}, who=auth)
            eq(st, 201)
            self.tokens[handle] = t["token"]

    @property
    def media_dir(self):
        return os.path.join(self.s.dir, "media")

    def files(self):
        return sorted(p for p in glob.glob(os.path.join(self.media_dir, "**", "*"),
                                            recursive=True) if os.path.isfile(p))

    def call(self, method, path, body=None, who=None, headers=None, timeout=60):
        h = dict(headers or {})
        if who:
            h["Authorization"] = "Bearer " + self.tokens.get(who, who)
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=timeout)
        try:
            st, hd, data = self.s.request(method, path, body=body, headers=h, conn=c)
        finally:
            c.close()
        return st, hd, (json.loads(data) if data[:1] in (b"{", b"[") else data)

    def upload(self, data, ctype="image/jpeg", who="alice", query="alt=A%20photo"):
        return self.call("POST", "/api/media?" + query, body=data, who=who,
                         headers={"Content-Type": ctype})

    def media_total(self):
        st, _, lst = self.call("GET", "/api/media", who="ed")
        eq(st, 200)
        return lst["total"]

    def close(self):
        try:
            eq(self.s.stop(), 0, "exit status")
        finally:
            self.s.cleanup()


def site_test(fn, **kw):
    def run_it():
        site = Site(**kw)
        try:
            fn(site)
        finally:
            site.close()
    return run_it


def photo_to_story(site):
    """An editor's photo, with GPS and a turned camera, on a story: page, share tags, feed."""
    # stored 1600 x 1200 and turned a quarter by its EXIF: 1200 x 1600 upright
    original = with_gps(make("orient", 1600, 1200, "turned.jpg"), "turned-gps.jpg")
    check("EXIF:GPSLatitude" in exif(os.path.join(IMAGES, "turned-gps.jpg")), "the test's GPS")
    st, h, m = site.upload(original, query="alt=The%20tower%20%3Cb%3E&caption=Dusk&credit=Ann%20Lee")
    eq(st, 201, m)
    eq(h["location"], "/api/media/" + m["id"])
    check(re.fullmatch(r"[0-9a-f]{16}", m["id"]), m["id"])
    eq((m["width"], m["height"], m["type"], m["bytes"]), (1200, 1600, "image/jpeg", len(original)))
    eq((m["alt"], m["caption"], m["credit"]), ("The tower <b>", "Dusk", "Ann Lee"))
    eq([(r["width"], r["type"]) for r in m["renditions"]],
       [(w, t) for w in (320, 640, 960) for t in ("image/webp", "image/jpeg")])
    for r in m["renditions"]:
        path = r["url"].replace("http://news.test", "")
        st, hd, body = site.s.get(path)
        eq(st, 200, path)
        eq(hd["cache-control"], "public, max-age=31536000, immutable")
        eq(hd["content-type"], r["type"])
        eq(len(body), r["bytes"])
        local = os.path.join(site.media_dir, path[len("/media/"):])
        tags = exif(local)
        eq((tags.get("File:ImageWidth"), tags.get("File:ImageHeight")) if "File:ImageWidth" in tags
           else (tags.get("RIFF:ImageWidth"), tags.get("RIFF:ImageHeight")),
           (r["width"], r["height"]), local)
        left = [k for k in tags if k.split(":")[0] in ("EXIF", "XMP", "IPTC", "ICC_Profile",
                                                        "Composite") and "GPS" in k or
                k.split(":")[0] in ("EXIF", "XMP", "IPTC", "MakerNotes")]
        eq(left, [], "metadata left in " + path)
        check(b"TestCam" not in body and b"48.8584" not in body, "camera or GPS bytes in " + path)
    # the same bytes again: the same image, described as it was first
    st, h, again = site.upload(original, who="ed", query="alt=Other")
    eq((st, again["id"], again["alt"]), (200, m["id"], "The tower <b>"))
    eq(site.media_total(), 1)

    # a story that shows it, and a second one in its body
    second = make("photo", 2000, 1000, "wide.jpg", seed=5)
    st, _, m2 = site.upload(second, query="alt=Wide")
    eq(st, 201, m2)
    eq(len(m2["renditions"]), 10)  # five widths up to 1920 (it is 2000 wide), two types
    story = {"title": "Tower at dusk", "body": "Words.\n\n![The *wide* view](media:%s)\n\nEnd."
             % m2["id"], "image": {"media": m["id"], "alt": "The tower <b>", "caption": "Dusk & dark",
                                   "credit": "Ann Lee"}, "tags": ["paris"]}
    st, _, a = site.call("POST", "/api/articles", story, who="ed")
    eq(st, 201, a)
    eq(a["image"]["media"], m["id"])
    eq(a["image"]["url"], "http://news.test/media/%s/%s-960.jpg" % (m["id"][:2], m["id"]))
    eq((a["image"]["width"], a["image"]["height"]), (1200, 1600))
    st, _, page = site.call("GET", "/articles/tower-at-dusk")
    eq(st, 200)
    html = page.decode()
    share = "http://news.test/media/%s/%s-960.jpg" % (m["id"][:2], m["id"])  # no 1280: the widest
    for want in ('<meta property="og:image" content="%s">' % share,
                 '<meta property="og:image:width" content="960">',
                 '<meta property="og:image:height" content="1280">',
                 '<meta property="og:image:alt" content="The tower &lt;b&gt;">',
                 '<meta name="twitter:card" content="summary_large_image">',
                 '<figure class="lead">', 'width="1200" height="1600"',
                 '<figcaption>Dusk &amp; dark <span class="credit">Ann Lee</span></figcaption>',
                 'fetchpriority="high"'):
        check(want in html, "page lacks " + want)
    lead = re.search(r'<figure class="lead">.*?</figure>', html, re.S).group(0)
    check('type="image/webp" srcset="/media/%s/%s-320.webp 320w, ' % (m["id"][:2], m["id"]) in lead, lead)
    check("sizes=" in lead and 'loading="lazy"' not in lead, "the lead is on the first screen")
    body = re.search(r'<div class="body">.*?</div>', html, re.S).group(0)
    check('<picture><source type="image/webp"' in body and 'loading="lazy"' in body and
          'alt="The wide view"' in body and "-1920.jpg 1920w" in body and
          'width="2000" height="1000"' in body, body)
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html).group(1))
    eq(ld["image"][0]["url"], share)
    eq((ld["image"][0]["width"], ld["image"][0]["height"]), (960, 1280))
    eq(ld["image"][0]["creditText"], "Ann Lee")
    feed = site.call("GET", "/feed.xml")[2].decode()
    check('<link rel="enclosure" type="image/jpeg" length="%d" href="%s"/>'
          % ([r for r in m["renditions"] if r["width"] == 960 and r["type"] == "image/jpeg"][0]["bytes"],
             share) in feed, feed)
    check('xml:base="http://news.test/"' in feed)
    news = site.call("GET", "/news-sitemap.xml")[2].decode()
    check("<image:image><image:loc>%s</image:loc></image:image>" % share in news, news)
    front = site.call("GET", "/")[2].decode()
    check('<img src="/media/%s/%s-320.jpg" width="320" height="427"' % (m["id"][:2], m["id"]) in front,
          "the teaser's small picture")

    # a story without a picture: no image tags
    st, _, plain = site.call("POST", "/api/articles", {"title": "Plain", "body": "Text."}, who="ed")
    eq((st, plain["image"]), (201, None))
    html = site.call("GET", "/articles/plain")[2].decode()
    check("og:image" not in html and '<meta name="twitter:card" content="summary">' in html)

    # bad references, each a 422 naming the field, nothing stored
    for bad, field in (({"media": m["id"]}, "image.alt: is required"),
                       ({"media": "0123456789abcdef", "alt": "x"}, "image.media: no uploaded image"),
                       ({"media": "../../etc/passwd", "alt": "x"}, "image.media: must be"),
                       ("a picture", "image: must be")):
        st, _, e = site.call("POST", "/api/articles", {"title": "Bad", "body": "x", "image": bad},
                             who="ed")
        eq(st, 422, bad)
        check(e["error"]["message"].startswith(field), e)
    st, _, e = site.call("POST", "/api/articles", {"title": "Bad", "body": "![x](media:0123456789abcdef)"},
                         who="ed")
    eq(st, 422)
    eq(e["error"]["message"], "body: no uploaded image media:0123456789abcdef")
    eq(site.call("GET", "/api/articles/bad")[0], 404)

    # a replace that leaves the image out keeps it; null takes it away
    st, _, a2 = site.call("PUT", "/api/articles/tower-at-dusk",
                          {"title": "Tower at dusk", "body": "Only words."}, who="ed")
    eq((st, a2["image"]["media"]), (200, m["id"]))

    # describing and deleting: a contributor describes, an editor deletes what nothing shows
    st, _, p = site.call("PATCH", "/api/media/" + m["id"], {"caption": "Evening"}, who="alice")
    eq((st, p["caption"], p["alt"]), (200, "Evening", "The tower <b>"))
    st, _, e = site.call("PATCH", "/api/media/" + m["id"], {"width": 5}, who="alice")
    eq(st, 422, e)
    st, _, e = site.call("DELETE", "/api/media/" + m["id"], who="alice")
    eq(st, 403, e)
    check("editor" in e["error"]["message"], e)
    st, _, e = site.call("DELETE", "/api/media/" + m["id"], who="ed")
    eq(st, 409, e)
    site.call("PUT", "/api/articles/tower-at-dusk",
              {"title": "Tower at dusk", "body": "Only words.", "image": None}, who="ed")
    eq(site.call("DELETE", "/api/media/" + m["id"], who="ed")[0], 204)
    eq(site.call("GET", "/api/media/" + m["id"], who="ed")[0], 404)
    st, _, d = site.call("POST", "/api/articles", {"title": "Draft with a picture", "status": "draft",
                                                   "body": "![w](media:%s)" % m2["id"]}, who="alice")
    eq(st, 201, d)
    eq(site.call("DELETE", "/api/media/" + m2["id"], who="ed")[0], 409, "a draft's body shows it")
    eq(site.call("GET", "/media/%s/%s-320.jpg/../../config.ini" % (m["id"][:2], m["id"]))[0], 404)
    # only the renditions' own names are served from the folder
    with open(os.path.join(site.media_dir, m["id"][:2], "notes.html"), "w") as f:
        f.write("<script>alert(1)</script>")
    eq(site.call("GET", "/media/%s/notes.html" % m["id"][:2])[0], 404)
    # the audit log has each write
    st, _, log = site.call("GET", "/api/audit?per_page=100", who="root")
    actions = [e["action"] for e in log["entries"]]
    for want in ("media.create", "media.update", "media.delete"):
        check(want in actions, actions)


def kinds(site):
    """A 16-bit PNG with alpha, a CMYK JPEG, an animated GIF, a WebP, a small image."""
    st, _, m = site.upload(make("png16a", 700, 500, "deep.png"), ctype="image/png")
    eq(st, 201, m)
    eq((m["type"], m["width"], m["height"]), ("image/png", 700, 500))
    eq([r["width"] for r in m["renditions"]], [320, 320, 640, 640])
    for r in m["renditions"]:
        tags = exif(os.path.join(site.media_dir, r["url"].split("/media/", 1)[1]))
        if r["type"] == "image/jpeg":
            eq((tags["File:BitsPerSample"], tags["File:ColorComponents"]), (8, 3), "8-bit sRGB JPEG")
    st, _, m = site.upload(make("cmyk", 800, 600, "cmyk.jpg"))
    eq(st, 201, m)
    for r in m["renditions"]:
        if r["type"] == "image/jpeg":
            tags = exif(os.path.join(site.media_dir, r["url"].split("/media/", 1)[1]))
            eq(tags["File:ColorComponents"], 3, "a CMYK upload becomes RGB")
    st, _, m = site.upload(make("gif", 400, 300, "anim.gif"), ctype="image/gif")
    eq(st, 201, m)
    eq(m["frames"], 3)
    eq(m["notice"], "an animated GIF of 3 frames: only the first is kept")
    eq((m["width"], m["height"]), (400, 300))
    st, _, m = site.upload(make("webp", 1000, 700, "in.webp"), ctype="image/webp")
    eq(st, 201, m)
    eq([r["width"] for r in m["renditions"]], [320, 320, 640, 640, 960, 960])
    st, _, m = site.upload(make("photo", 200, 150, "small.jpg"), ctype="image/jpeg; charset=binary")
    eq(st, 201, m)
    eq([(r["width"], r["height"]) for r in m["renditions"]], [(200, 150), (200, 150)],
       "below 320: one width, its own, never upscaled")
    eq(site.media_total(), 5)


def refusals(site):
    """Every bad upload: its status, its message, and nothing stored."""
    jpeg = make("photo", 900, 600, "good.jpg")
    png = make("photo", 10, 10, "x.jpg")  # replaced below by a real PNG
    png = open(os.path.join(IMAGES, "deep.png"), "rb").read() if os.path.exists(
        os.path.join(IMAGES, "deep.png")) else make("png16a", 300, 200, "deep.png")
    before = site.files()
    rss = site.s.rss_kib()
    cases = [
        ("PNG bytes sent as image/jpeg", png, "image/jpeg", 415,
         "Content-Type says image/jpeg but the bytes are a PNG image"),
        ("a JPEG header on PNG bytes", b"\xff\xd8\xff\xe0" + png[4:], "image/jpeg", 422,
         "truncated or corrupt"),
        ("SVG", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
         "image/svg+xml", 415, "not a JPEG, PNG, WebP or GIF image"),
        ("HTML", b"<!DOCTYPE html><html><body>hi</body></html>", "image/jpeg", 415,
         "not a JPEG, PNG, WebP or GIF image"),
        ("a truncated JPEG", jpeg[:len(jpeg) // 2], "image/jpeg", 422, "truncated or corrupt"),
        ("a decompression bomb", bomb_png(), "image/png", 422,
         "the image is 100000 x 100000 pixels, more than media.max_pixels (50000000)"),
        ("a zero-byte body", b"", "image/jpeg", 422, "the body is empty"),
        ("a JPEG as JSON", jpeg, "application/json", 415, "Content-Type says application/json"),
    ]
    for name, data, ctype, want, msg in cases:
        st, h, e = site.upload(data, ctype=ctype)
        eq(st, want, name)
        check(msg in e["error"]["message"], "%s: %r" % (name, e))
        eq(h["cache-control"], "no-store", name)
    check(site.s.rss_kib() - rss < 100 * 1024, "RSS grew by %d KiB" % (site.s.rss_kib() - rss))
    with open("/proc/%d/status" % site.s.proc.pid) as f:
        peak = [int(l.split()[1]) for l in f if l.startswith("VmHWM:")][0]
    check(peak < 100 * 1024, "peak RSS %d KiB after the bomb" % peak)

    # 21 MiB: refused from its Content-Length, before a byte of the body is sent
    s = socket.create_connection(("127.0.0.1", site.s.port), timeout=5)
    s.sendall(("POST /api/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
               % (site.tokens["alice"], 21 << 20)).encode())
    head = s.recv(65536).decode("latin-1")
    s.close()
    check(head.startswith("HTTP/1.1 413"), head)
    check("larger than media.max_bytes (20971520 bytes)" in head, head)
    # without a token: 401 from the header alone
    s = socket.create_connection(("127.0.0.1", site.s.port), timeout=5)
    s.sendall(b"POST /api/media HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
              b"Content-Length: 1000000\r\n\r\n")
    check(s.recv(65536).startswith(b"HTTP/1.1 401"))
    s.close()
    # a slow upload: closed once it falls under server.min_body_rate
    s = socket.create_connection(("127.0.0.1", site.s.port), timeout=10)
    s.sendall(("POST /api/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
               % (site.tokens["alice"], len(jpeg))).encode())
    start, closed = time.time(), False
    try:
        for i in range(0, len(jpeg), 64):
            s.sendall(jpeg[i:i + 64])
            time.sleep(0.25)
            if time.time() - start > 8:
                break
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    if not closed:
        s.settimeout(3)
        try:
            closed = s.recv(65536) in (b"",) or True
        except (ConnectionResetError, socket.timeout):
            closed = True
    s.close()
    check(closed and time.time() - start < 8, "a slow upload was cut off (%.1fs)" % (time.time() - start))
    eq(site.media_total(), 0)
    eq(site.files(), before, "nothing written under paths.media")
    # the server is fine afterwards
    st, _, m = site.upload(jpeg)
    eq(st, 201, m)


def queue_full(site):
    """One worker and two places behind it: a burst of uploads gets some 503s, with
    Retry-After, and every accepted one has its files."""
    photos = [make("photo", 3000, 2000, "burst-%d.jpg" % i, seed=100 + i) for i in range(6)]
    results = [None] * len(photos)

    def one(i):
        results[i] = site.upload(photos[i])
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(photos))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r[0] for r in results)
    check(503 in statuses and 201 in statuses, statuses)
    for st, h, body in results:
        if st == 503:
            check(int(h["retry-after"]) > 0, h)
            check("try again" in body["error"]["message"], body)
        else:
            eq(st, 201, body)
            for r in body["renditions"]:
                check(os.path.exists(os.path.join(site.media_dir, r["url"].split("/media/", 1)[1])))
    eq(site.media_total(), statuses.count(201))


def crash_and_collect(site):
    """kill -9 during uploads leaves no record without its files; what no record uses goes at
    the next start (once older than the grace) and with `gazette media gc`."""
    photos = [make("photo", 2400, 1600, "storm-%d.jpg" % i, seed=200 + i) for i in range(6)]
    done = []

    def one(i):
        try:
            st, _, m = site.upload(photos[i])
            if st == 201:
                done.append(m["id"])
        except Exception:
            pass
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(photos))]
    for t in threads:
        t.start()
    time.sleep(0.8)
    site.s.kill(signal.SIGKILL)
    site.s.proc.wait()
    for t in threads:
        t.join()
    site.s.stderr_file.close()
    site.s.start()
    st, _, lst = site.call("GET", "/api/media?per_page=100", who="ed")
    for m in lst["media"]:
        for r in m["renditions"]:
            check(os.path.exists(os.path.join(site.media_dir, r["url"].split("/media/", 1)[1])),
                  "a record without its file: " + r["url"])
    for i in done:
        check(i in [m["id"] for m in lst["media"]], "an acknowledged upload was lost")
    # orphans: a rendition no record names, a temporary file; one old, one young
    os.makedirs(os.path.join(site.media_dir, "ab"), exist_ok=True)
    old = os.path.join(site.media_dir, "ab", "abababababababab-320.jpg")
    tmp = os.path.join(site.media_dir, "ab", ".tmp-abababababababab-640.jpg-x1y2z3")
    young = os.path.join(site.media_dir, "ab", "abababababababab-640.jpg")
    for p in (old, tmp, young):
        with open(p, "wb") as f:
            f.write(b"\xff\xd8\xff orphan")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    os.utime(tmp, (hour_ago, hour_ago))
    eq(site.s.stop(), 0)
    site.s.start()
    deadline = time.time() + 10
    while (os.path.exists(old) or os.path.exists(tmp)) and time.time() < deadline:
        time.sleep(0.05)
    check(not os.path.exists(old) and not os.path.exists(tmp), "orphans collected on start")
    check(os.path.exists(young), "a young file may be an upload that is not committed yet")
    os.utime(young, (hour_ago, hour_ago))
    r = site.s.run_cli("media", "gc", "-c", site.s.config_path)
    eq(r.returncode, 0, r.stderr)
    check(b"removed 1 file" in r.stderr, r.stderr)
    check(not os.path.exists(young))
    for m in lst["media"]:  # the records' files stay
        for rr in m["renditions"]:
            check(os.path.exists(os.path.join(site.media_dir, rr["url"].split("/media/", 1)[1])))


def export_import(site):
    """An export names images by id; an import without their files refuses the story that
    shows one, by name; with the files copied it brings everything."""
    st, _, m = site.upload(make("photo", 1300, 900, "ex.jpg", seed=9))
    eq(st, 201, m)
    st, _, a = site.call("POST", "/api/articles", {"title": "Exported", "body": "x",
                                                   "image": {"media": m["id"], "alt": "A"}}, who="ed")
    eq(st, 201, a)
    r = site.s.run_cli("export", "-c", site.s.config_path)
    eq(r.returncode, 0, r.stderr)
    doc = json.loads(r.stdout)
    eq([x["id"] for x in doc["media"]], [m["id"]])
    eq(doc["articles"][0]["image"]["media"], m["id"])
    other = Server(BINARY, token=BOOT)
    try:
        path = os.path.join(other.dir, "export.json")
        with open(path, "wb") as f:
            f.write(r.stdout)
        r2 = other.run_cli("import", "-c", other.config_path, path)
        eq(r2.returncode, 1, r2.stderr)
        check(("media %s: its files are not all under paths.media" % m["id"]).encode() in r2.stderr,
              r2.stderr)
        check(b"image.media: no uploaded image" in r2.stderr and b"nothing imported" in r2.stderr,
              r2.stderr)
        shutil.copytree(site.media_dir, os.path.join(other.dir, "media"))
        r2 = other.run_cli("import", "-c", other.config_path, path)
        eq(r2.returncode, 0, r2.stderr)
        other.start()
        html = other.get("/articles/exported")[2].decode()
        check('<meta property="og:image" content="http://news.test/media/%s/%s-1280.jpg">'
              % (m["id"][:2], m["id"]) in html, html)
        eq(other.get("/media/%s/%s-1280.webp" % (m["id"][:2], m["id"]))[0], 200)
        eq(other.stop(), 0)
    finally:
        other.cleanup()


def readme_pictures():
    """README, "Pictures": the two commands as printed, against a server with the local admin
    token scripts/run makes, and the picture on the page, in the feed and the share tags."""
    with open(os.path.join(SOURCE_ROOT, "README.md")) as f:
        readme = f.read()
    part = readme[readme.index("## Pictures"):]
    block = part[part.index("```sh\n") + 6:]
    block = block[:block.index("```")]
    s = Server(BINARY, token=BOOT)
    try:
        s.start()
        st, _, _ = s.json("POST", "/api/users", {"handle": "admin", "name": "Admin", "role": "admin"},
                          headers={"Authorization": "Bearer " + BOOT})
        eq(st, 201)
        st, _, t = s.json("POST", "/api/users/admin/tokens", {"name": "local"},
                          headers={"Authorization": "Bearer " + BOOT})
        with open(os.path.join(s.dir, "local-admin.token"), "w") as f:
            f.write(t["token"] + "\n")
        make("photo", 3000, 2000, "readme.jpg", seed=42)
        shutil.copy(os.path.join(IMAGES, "readme.jpg"), os.path.join(s.dir, "photo.jpg"))
        script = block.replace("http://localhost:8080", "http://127.0.0.1:%d" % s.port)
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=s.dir, capture_output=True)
        eq(r.returncode, 0, r.stderr)
        st, _, a = s.json("GET", "/api/articles/cranes-at-dusk")
        eq(st, 200, a)
        share = a["image"]["url"]
        check(share.endswith("-1280.jpg"), share)
        html = s.get("/articles/cranes-at-dusk")[2].decode()
        check('<meta property="og:image" content="%s">' % share in html)
        check('<figcaption>Zarubino <span class="credit">Ann Lee</span></figcaption>' in html)
        check('<link rel="enclosure" type="image/jpeg"' in s.get("/feed.xml")[2].decode())
        eq(s.stop(), 0)
    finally:
        s.cleanup()


if __name__ == "__main__":
    try:
        run([
            ("a photo on a story: page, share tags, JSON-LD, feed, sitemap", site_test(photo_to_story)),
            ("PNG 16-bit with alpha, CMYK, animated GIF, WebP, a small image", site_test(kinds)),
            ("every refusal, nothing stored, RSS bounded", site_test(refusals, config={
                "server": {"min_body_rate": "1024"}})),
            ("a full queue answers 503 with Retry-After", site_test(queue_full, config={
                "server": {"threads": "1"}})),
            ("kill -9 during uploads, and the collector", site_test(crash_and_collect)),
            ("export names images, import refuses a story without its image", site_test(export_import)),
            ("the README's pictures, as printed", readme_pictures),
        ])
    finally:
        shutil.rmtree(IMAGES, ignore_errors=True)
