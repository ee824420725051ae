"""test_package.py - debian/: dpkg-buildpackage makes the .deb from a copy of the tracked tree;
its files, conffiles and lintian's verdict; the binary it holds serves the demo story with the
packaged config, templates and static files, and its logrotate file rotates the access log."""

import atexit
import html
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

from harness import SOURCE_ROOT, Server, check, eq, run

BINARY = sys.argv[1]
CONTENT = os.path.join(SOURCE_ROOT, "content", "jilin-russian-far-east.json")
TOOLS = ("git", "dpkg-buildpackage", "dpkg-deb", "dpkg", "lintian", "logrotate")

WORK = tempfile.mkdtemp(prefix="gazette-package-")
atexit.register(shutil.rmtree, WORK, True)
built = {}  # what build() made: the .deb's path, its .changes, the extracted tree


def version():
    """meson.build's project version, which debian/changelog must carry."""
    with open(os.path.join(SOURCE_ROOT, "meson.build")) as f:
        return re.search(r"^project\(.*?version\s*:\s*'([^']+)'", f.read(), re.M | re.S).group(1)


def need_tools():
    missing = [t for t in TOOLS if not shutil.which(t)]
    check(not missing, "missing %s: scripts/test installs them (TEST_PACKAGES in scripts/deps.sh)"
          % " ".join(missing))


def build():
    """The git-tracked files (no build folders, nothing untracked: what a clean clone has)
    copied to WORK/gazette-VERSION, and dpkg-buildpackage -us -uc -b there."""
    need_tools()
    names = subprocess.run(["git", "ls-files", "-z"], cwd=SOURCE_ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    tree = os.path.join(WORK, "gazette-" + version())
    for name in filter(None, names):
        src = os.path.join(SOURCE_ROOT, name)
        if not os.path.lexists(src):  # deleted in the work tree, not yet in a commit
            continue
        dst = os.path.join(tree, name)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):  # debian/gazette.service -> ../deploy/gazette.service
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    check(os.path.isdir(os.path.join(tree, "debian")), "debian/ is not in git")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DEB_", "MALLOC_", "ASAN_", "UBSAN_", "GAZETTE_"))}
    env["DEB_BUILD_OPTIONS"] = "nocheck parallel=2"
    log = os.path.join(WORK, "build.log")
    start = time.time()
    with open(log, "w") as f:
        r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree, env=env,
                           stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                           timeout=600)
    with open(log, errors="replace") as f:
        eq(r.returncode, 0, "dpkg-buildpackage; the end of its log:\n" + f.read()[-4000:])
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    stem = os.path.join(WORK, "gazette_%s_%s" % (version(), arch))
    built["deb"], built["changes"] = stem + ".deb", stem + ".changes"
    check(os.path.exists(built["deb"]), "no %s: %r" % (built["deb"], os.listdir(WORK)))
    print("# %s: %d bytes, built in %.0f s" % (os.path.basename(built["deb"]),
                                               os.path.getsize(built["deb"]), time.time() - start))


def deb():
    check("deb" in built, "the package was not built")
    return built["deb"]


def contents():
    """dpkg-deb -c: every path the package installs (./ and a trailing / stripped)."""
    out = subprocess.run(["dpkg-deb", "-c", deb()], capture_output=True, text=True,
                         check=True).stdout
    paths = set()
    for line in out.splitlines():
        name = line.split(None, 5)[5].split(" -> ")[0]
        paths.add(name[2:].rstrip("/"))
    want = {"usr/bin/gazette", "etc/gazette/gazette.ini", "etc/logrotate.d/gazette",
            "lib/systemd/system/gazette.service", "usr/share/man/man1/gazette.1.gz",
            "usr/share/doc/gazette/copyright"}
    want |= {"usr/share/doc/gazette/examples/" + n
             for n in ("nginx.conf", "nginx-upstream.conf", "varnish.vcl")}
    # every tracked template and static file, under /usr/share/gazette
    tracked = subprocess.run(["git", "ls-files", "templates", "static"], cwd=SOURCE_ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    check("templates/layout.mustache" in tracked, tracked)
    want |= {"usr/share/gazette/" + n for n in tracked}
    eq(sorted(want - paths), [], "paths missing from the .deb")
    eq([p for p in paths if p == "srv" or p.startswith(("srv/", "usr/local", "var/"))], [],
       "nothing in /srv, /usr/local or /var (the postinst and systemd make those folders)")
    # deploy/'s files as they are in the tree
    root = extract()
    for packaged, source in (("etc/gazette/gazette.ini", "deploy/gazette.ini"),
                             ("etc/logrotate.d/gazette", "deploy/logrotate"),
                             ("lib/systemd/system/gazette.service", "deploy/gazette.service"),
                             ("usr/share/doc/gazette/examples/nginx.conf", "deploy/nginx.conf")):
        with open(os.path.join(root, packaged), "rb") as a, \
                open(os.path.join(SOURCE_ROOT, source), "rb") as b:
            check(a.read() == b.read(), "%s is not %s" % (packaged, source))


def control():
    """The conffiles, the version of meson.build, the dependencies debian/control asks for."""
    r = subprocess.run(["dpkg-deb", "-I", deb(), "conffiles"], capture_output=True, text=True)
    eq(r.returncode, 0, r.stderr)
    conffiles = r.stdout.split()
    for path in ("/etc/gazette/gazette.ini", "/etc/logrotate.d/gazette"):
        check(path in conffiles, "%s is not a conffile: %r" % (path, conffiles))
    field = lambda name: subprocess.run(["dpkg-deb", "-f", deb(), name], capture_output=True,
                                        text=True, check=True).stdout.strip()
    eq(field("Version"), version(), "the package's version is meson.build's")
    depends = [d.split()[0] for d in field("Depends").split(", ")]
    for name in ("adduser", "libc6", "libmicrohttpd12", "libpq5", "libvips42"):
        check(name in depends, "%s not in Depends: %r" % (name, depends))
    script = lambda name: subprocess.run(["dpkg-deb", "-I", deb(), name], capture_output=True,
                                         text=True, check=True).stdout
    postinst = script("postinst")
    check("adduser --system --group --home /var/lib/gazette --no-create-home" in postinst,
          "the postinst makes the gazette user: " + postinst)
    # the service: enabled, not started at installation (no token yet), restarted by an
    # upgrade when it runs, never stopped before one, stopped when the package is removed
    check("deb-systemd-helper enable 'gazette.service'" in postinst, postinst)
    check("try-restart" in postinst and "invoke start" not in postinst, postinst)
    preinst = subprocess.run(["dpkg-deb", "-I", deb(), "preinst"], capture_output=True, text=True)
    check(preinst.returncode != 0, "a preinst, which stops the service before an upgrade: "
          + preinst.stdout)
    check("deb-systemd-invoke stop gazette.service" in script("prerm"), script("prerm"))


def lintian():
    """lintian on the .changes (both .debs and the .buildinfo): no error and no warning;
    debian/gazette.lintian-overrides explains every tag left."""
    deb()
    start = time.time()
    r = subprocess.run(["lintian", "--display-info", "--pedantic", built["changes"]],
                       capture_output=True, text=True, timeout=600)
    lines = r.stdout.splitlines()
    for line in lines:
        print("# lintian: " + line)
    print("# lintian took %.1f s" % (time.time() - start))
    eq([l for l in lines if l.startswith(("E:", "W:"))], [], "lintian errors and warnings")
    check(r.returncode == 0, "lintian exit %d: %s" % (r.returncode, r.stderr))


def extract():
    if "root" not in built:
        root = os.path.join(WORK, "root")
        subprocess.run(["dpkg", "-x", deb(), root], check=True)
        built["root"] = root
    return built["root"]


def setting(text, key, value, new_key=None):
    """The packaged config with key's one line set to `key = value` (or new_key = value); the
    key must be there."""
    text, n = re.subn(r"^%s\s*=.*$" % re.escape(key), "%s = %s" % (new_key or key, value),
                      text, flags=re.M)
    eq(n, 1, "lines setting %s in the packaged gazette.ini" % key)
    return text


def packaged_config():
    """etc/gazette/gazette.ini as the package ships it, every path pointed into the extracted
    tree (the same place under it), the token given in the file, a free port."""
    root = extract()
    with open(os.path.join(root, "etc", "gazette", "gazette.ini")) as f:
        text = f.read()
    check(re.search(r"^listen\s*=\s*127\.0\.0\.1\s*$", text, re.M), "listen on loopback")
    check(re.search(r"^trust_proxy\s*=\s*true\s*$", text, re.M), "trust_proxy = true, kept")
    for key in ("database", "media", "templates", "static", "access_log"):
        path = re.search(r"^%s\s*=\s*(/\S+)" % key, text, re.M)
        check(path, "%s is an absolute path in the packaged config" % key)
        inside = root + path.group(1)
        os.makedirs(os.path.dirname(inside), exist_ok=True)
        text = setting(text, key, inside)
    text = setting(text, "port", "0")
    text = setting(text, "base_url", "http://news.test")
    token = secrets.token_hex(16)
    text = setting(text, "token_file", token, new_key="token")
    path = os.path.join(WORK, "gazette.ini")
    with open(path, "w") as f:
        f.write(text)
    return path, token


def serves_the_story():
    """The extracted binary, the packaged config: import the demo story, then its page, the
    health check and a static file over loopback."""
    root = extract()
    binary = os.path.join(root, "usr", "bin", "gazette")
    built_version = subprocess.run([BINARY, "--version"], capture_output=True, text=True)
    r = subprocess.run([binary, "--version"], capture_output=True, text=True)
    eq(r.stdout.strip(), "gazette " + version())
    eq(r.stdout, built_version.stdout, "the packaged binary's version is the built one's")
    cfg, token = packaged_config()
    os.makedirs(os.path.join(WORK, "run"))
    s = Server(binary, copy_site=False, workdir=os.path.join(WORK, "run"))
    s.config_path = cfg
    try:
        r = s.run_cli("import", "-c", cfg, CONTENT)
        eq(r.returncode, 0, r.stderr)
        r = s.run_cli("export", "-c", cfg)
        eq(r.returncode, 0, r.stderr)
        story = json.loads(r.stdout)["articles"][0]
        with open(CONTENT) as f:
            eq(story["title"], json.load(f)["title"])
        s.start()
        st, h, b = s.get("/articles/" + story["slug"])
        eq(st, 200, b[:300])
        eq(h["content-type"], "text/html; charset=utf-8")
        check("<h1>%s</h1>" % html.escape(story["title"]) in b.decode(), b[:500])
        st, _, b = s.get("/healthz")
        eq(st, 200, b)
        eq(json.loads(b)["status"], "ok")
        st, _, css = s.get("/static/style.css")
        with open(os.path.join(root, "usr", "share", "gazette", "static", "style.css"), "rb") as f:
            eq((st, css), (200, f.read()), "/static/ from /usr/share/gazette/static")
        eq(s.json("POST", "/api/articles", {"title": "x", "body": "y"})[0], 401)
        st, _, b = s.json("GET", "/api/articles?status=all",
                          headers={"Authorization": "Bearer " + token})
        eq((st, b["total"]), (200, 1), "the token of the file")
        rotation(s, root)
        eq(s.stop(), 0, "exit status after SIGTERM")
    finally:
        s.cleanup()


def rotation(s, root):
    """etc/logrotate.d/gazette, unchanged but for the log's path, run by logrotate -f; a
    systemctl of the test's own stands in for systemd: is-active says yes, and the kill it is
    asked for goes to this server (SIGUSR1), which then writes a new access.log itself."""
    with open(os.path.join(root, "etc", "logrotate.d", "gazette")) as f:
        conf = f.read()
    log = os.path.join(root, "var", "log", "gazette", "access.log")
    check("/var/log/gazette/access.log {" in conf, conf)
    conf = conf.replace("/var/log/gazette/access.log {", log + " {")
    bindir = os.path.join(WORK, "bin")
    os.makedirs(bindir, exist_ok=True)
    calls = os.path.join(WORK, "systemctl.calls")
    stub = os.path.join(bindir, "systemctl")
    with open(stub, "w") as f:
        f.write("""#!/bin/sh
echo "$*" >> %s
case "$*" in
"--quiet is-active gazette.service") exit "$ACTIVE" ;;
"kill --kill-whom=main --signal=USR1 gazette.service") exec kill -USR1 %d ;;
esac
exit 1
""" % (calls, s.proc.pid))
    os.chmod(stub, 0o755)
    path = os.path.join(WORK, "logrotate.conf")
    with open(path, "w") as f:
        f.write(conf)
    os.chmod(path, 0o644)
    env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"])

    def logrotate(active):
        r = subprocess.run(["logrotate", "-f", "-s", os.path.join(WORK, "logrotate.state"),
                            path], capture_output=True, text=True,
                           env=dict(env, ACTIVE=str(active)))
        eq(r.returncode, 0, "logrotate: " + r.stdout + r.stderr)
        with open(calls) as f:
            return f.read().splitlines()

    before = open(log).read()
    check("GET /healthz" in before, before)
    # a stopped service: the postrotate asks, and sends nothing
    eq(logrotate(3), ["--quiet is-active gazette.service"])
    check(not os.path.exists(log), "nocreate: logrotate leaves the new file to Gazette")
    eq(open(log + ".1").read(), before)
    os.remove(calls)
    s.get("/healthz?before-reopen")
    time.sleep(0.2)
    check(not os.path.exists(log), "Gazette made access.log without being signalled")
    check("before-reopen" in open(log + ".1").read(), "lines go on to the renamed file")
    # a running one: SIGUSR1 to its main process, which opens access.log anew
    os.rename(log + ".1", log)  # as it was before the first run
    eq(logrotate(0), ["--quiet is-active gazette.service",
                      "kill --kill-whom=main --signal=USR1 gazette.service"])
    deadline = time.time() + 5
    while not os.path.exists(log) and time.time() < deadline:
        time.sleep(0.05)
    check(os.path.exists(log), "no new access.log after SIGUSR1: " + s.stderr()[-1000:])
    s.get("/healthz?after-rotation")
    time.sleep(0.2)
    check("after-rotation" in open(log).read(), "new lines go to the new access.log")
    check("after-rotation" not in open(log + ".1").read(), "the rotated file is left alone")


def man_page():
    """debian/gazette.1 names every command that gazette --help lists."""
    with open(os.path.join(SOURCE_ROOT, "debian", "gazette.1")) as f:
        page = re.sub(r"\\f[BIRP]", "", f.read()).replace("\\-", "-")
    usage = subprocess.run([BINARY, "--help"], capture_output=True, text=True).stdout
    commands = []
    for line in usage.splitlines():
        m = re.match(r"\s*(?:usage: )?gazette ((?:\[?[a-z]+\]? ?)+)", line)
        if m:
            commands.append(m.group(1).strip())
    check(len(commands) > 10 and "check" in commands and "backup" in commands, commands)
    eq([c for c in commands if "gazette " + c not in page], [], "commands missing from gazette.1")


run([
    ("dpkg-buildpackage -us -uc -b builds the .deb", build),
    ("the .deb's files", contents),
    ("conffiles, version and dependencies", control),
    ("lintian: no error, no warning", lintian),
    ("the packaged binary and config serve the demo story; logrotate and SIGUSR1",
     serves_the_story),
    ("the manual page names every command of --help", man_page),
])
