"""benchlib.py - what the benchmark (run) and the soak test (soak) share: building the release
binary, generating articles, starting Gazette and nginx, running wrk, reading RSS."""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build-release")
GAZETTE = os.path.join(BUILD, "gazette")
TOKEN = "bench-token"


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_tools():
    missing = [p for p, b in (("wrk", "wrk"), ("nginx", "nginx")) if not shutil.which(b)
               and not os.path.exists("/usr/sbin/" + b)]
    if missing:
        if os.geteuid() != 0:
            sys.exit("missing: %s; run: sudo apt-get install -y %s" % (missing, " ".join(missing)))
        sh("apt-get", "update", "-qq")
        sh("apt-get", "install", "-y", "-qq", *missing)


def build():
    if not os.path.isdir(BUILD):
        sh("meson", "setup", BUILD, "--buildtype=release", cwd=ROOT, stdout=subprocess.DEVNULL)
    sh("meson", "compile", "-C", BUILD, stdout=subprocess.DEVNULL)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


PARAS = None


def make_articles(n, seed_path):
    global PARAS
    with open(seed_path) as f:
        seed = json.load(f)
    PARAS = [p for p in seed["body"].split("\n\n") if p.strip()]
    rnd = random.Random(42)
    words = " ".join(PARAS).split()
    out = []
    base = 1_600_000_000
    for i in range(n):
        title = "%s %d" % (" ".join(rnd.sample(words, 8)).strip(".,"), i)
        body = "\n\n".join(rnd.sample(PARAS, 8))
        ts = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(base + i * 600))
        out.append({"title": title, "slug": "story-%d" % i, "body": body, "published_at": ts,
                    "editor": "Ye Lijiao", "tags": [rnd.choice(["asia", "trade", "world"])]})
    return out


STARTED = []  # every process this script started, stopped in main's finally


class Gazette:
    def __init__(self, workdir, db, threads=2):
        """db: an SQLite file, or a postgresql:// URL."""
        self.dir = workdir
        self.port = free_port()
        self.config = os.path.join(workdir, "gazette-%d.ini" % self.port)
        url = db if db.startswith("postgresql://") else ""
        with open(self.config, "w") as f:
            if url:
                f.write("[database]\nurl = %s\n" % url)
            f.write("[server]\nlisten = 127.0.0.1\nport = %d\nthreads = %d\n"
                    "max_connections = 4096\n[site]\ntimezone = Asia/Shanghai\n"
                    "[paths]\ndatabase = %s\ntemplates = %s\nstatic = %s\n[auth]\ntoken = %s\n"
                    "[log]\naccess_log = off\nlevel = error\n"
                    % (self.port, threads, "gazette.db" if url else db, os.path.join(ROOT, "templates"),
                       os.path.join(ROOT, "static"), TOKEN))
        self.proc = None

    def start(self):
        t0 = time.monotonic()
        self.proc = subprocess.Popen([GAZETTE, "-c", self.config], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL)
        STARTED.append(self.proc)
        line = self.proc.stderr.readline()
        if not line.startswith(b"listening on"):
            raise SystemExit("gazette did not start: %r" % line)
        urllib.request.urlopen(self.url("/healthz")).read()
        return time.monotonic() - t0

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        self.proc.stderr.close()


class Nginx:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "nginx")
        self.root = os.path.join(self.dir, "html")
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        os.makedirs(self.root, exist_ok=True)
        self.port = free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""worker_processes 2;
pid %(d)s/nginx.pid;
error_log %(d)s/logs/error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path %(d)s/tmp_body;
  proxy_temp_path %(d)s/tmp_proxy;
  fastcgi_temp_path %(d)s/tmp_fcgi;
  uwsgi_temp_path %(d)s/tmp_uwsgi;
  scgi_temp_path %(d)s/tmp_scgi;
  types { text/html html; application/json json; }
  server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
    gzip_static on;
    location / { }
  }
}
""" % {"d": self.dir, "port": self.port, "root": self.root})
        self.conf = conf
        self.proc = None

    def put(self, name, data, gz=None):
        with open(os.path.join(self.root, name), "wb") as f:
            f.write(data)
        if gz is not None:
            with open(os.path.join(self.root, name + ".gz"), "wb") as f:
                f.write(gz)

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.conf, "-g",
                                      "daemon off;"], stderr=subprocess.DEVNULL)
        STARTED.append(self.proc)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port)).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("nginx did not start")

    def url(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, path)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait(30)


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req) as r:
        return r.read(), dict(r.headers)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url, duration, connections=64, headers=(), script=None, threads=2):
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct, val, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        lat[pct] = float(val) * UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "p50_ms": lat.get("50"), "p99_ms": lat.get("99"), "requests": total,
            "non2xx": int(errors.group(1)) if errors else 0, "socket_errors": sock.group(1) if sock else ""}


