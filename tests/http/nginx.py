"""nginx.py - Debian's real nginx with deploy/nginx.conf in front of Gazette, everything
under a temporary prefix; with several upstreams, deploy/nginx-upstream.conf's block instead
of nginx.conf's own. Shared by test_nginx.py and test_cluster.py."""

import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import SOURCE_ROOT, check

NGINX = "/usr/sbin/nginx"
DEPLOY = os.path.join(SOURCE_ROOT, "deploy")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def die_with_parent():
    """In the child before exec: SIGKILL when the test dies, however it dies (nginx runs in a
    session of its own, which no signal to the test's group reaches)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def substitute(text, old, new, pattern=False):
    """Replaces an example value of deploy/nginx.conf; the file must still contain it."""
    text, n = re.subn(old if pattern else re.escape(old), new.replace("\\", "\\\\"), text,
                      flags=re.M | re.S)
    check(n > 0, "deploy/nginx.conf no longer contains %r" % old)
    return text


class Nginx:
    """Debian's nginx in the foreground with deploy/nginx.conf, everything under a temporary
    prefix (pid, logs, temp files, cache), so that it touches nothing of the system's own."""

    def __init__(self, gazette_port, static_dir, upstreams=None):
        check(os.path.exists(NGINX), "%s is missing: scripts/test installs the nginx package "
              "(TEST_PACKAGES in scripts/deps.sh); this test needs the real nginx" % NGINX)
        self.prefix = tempfile.mkdtemp(prefix="gazette-nginx-")
        self.port = free_port()
        with open(os.path.join(DEPLOY, "nginx.conf")) as f:
            site = f.read()
        if upstreams:
            # several instances: nginx-upstream.conf's block in place of nginx.conf's
            with open(os.path.join(DEPLOY, "nginx-upstream.conf")) as f:
                block = re.search(r"^upstream gazette \{.*?^\}", f.read(), re.M | re.S).group(0)
            for i, port in enumerate(upstreams):
                block = substitute(block, "127.0.0.1:%d " % (8080 + i), "127.0.0.1:%d " % port)
            site = substitute(site, r"^upstream gazette \{.*?^\}", block, pattern=True)
        else:
            site = substitute(site, "127.0.0.1:8080", "127.0.0.1:%d" % gazette_port)
        site = substitute(site, "/usr/share/gazette/static", static_dir)
        # paths.media beside paths.static, as the harness's servers have them
        site = substitute(site, "/srv/gazette/media",
                          os.path.join(os.path.dirname(static_dir.rstrip("/")), "media"))
        site = substitute(site, "/var/cache/nginx/gazette", os.path.join(self.prefix, "cache"))
        site = substitute(site, r"listen\s+80;", "listen 127.0.0.1:%d;" % self.port, pattern=True)
        site = substitute(site, r"listen\s+\[::\]:80;", "listen [::1]:%d;" % self.port
                          if ipv6_loopback() else "", pattern=True)
        with open(os.path.join(self.prefix, "gazette.conf"), "w") as f:
            f.write(site)
        p = self.prefix
        # As Debian's own nginx.conf, into which deploy/nginx.conf is included: 768 worker
        # connections. Root's workers would otherwise run as nobody, who cannot read the 0700
        # temp folders.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        with open(os.path.join(p, "nginx.conf"), "w") as f:
            f.write(user + """worker_processes 1;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log info;
events { worker_connections 768; }
http {
    types {
        text/html html; text/css css; text/plain txt; image/x-icon ico;
        application/json json; application/xml xml; image/png png;
    }
    default_type application/octet-stream;
    access_log %(p)s/access.log;
    client_body_temp_path %(p)s/client_body;
    proxy_temp_path %(p)s/proxy;
    fastcgi_temp_path %(p)s/fastcgi;
    uwsgi_temp_path %(p)s/uwsgi;
    scgi_temp_path %(p)s/scgi;
    include %(p)s/gazette.conf;
}
""" % {"p": p})
        self.proc = None

    def start(self, timeout=10):
        self.stderr_file = open(os.path.join(self.prefix, "stderr.log"), "w+")
        self.proc = subprocess.Popen([NGINX, "-p", self.prefix, "-e", self.prefix + "/error.log",
                                      "-c", self.prefix + "/nginx.conf", "-g", "daemon off;"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr_file, start_new_session=True,
                                     preexec_fn=die_with_parent)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("nginx exited %d: %s" % (self.proc.returncode, self.errors()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nginx did not start: " + self.errors())

    def errors(self):
        out = ""
        for name in ("stderr.log", "error.log"):
            path = os.path.join(self.prefix, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    out += f.read()
        return out

    def stop(self):
        """Stops nginx by its PID (SIGQUIT: finish requests, then exit) and returns its status."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("nginx did not stop within 10 s")
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        """After a failure: SIGTERM to the master, then SIGKILL to whatever is left of its
        process group (its own id), since workers outlive a killed master."""
        if self.proc:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.proc.poll() is None:
                self.proc.wait()
            self.stderr_file.close()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def request(self, method, path, body=None, headers=None, token=None, source=None):
        """Returns (status, headers dict with lower-case names, body bytes). source is the
        client's own address (any 127.x.y.z works on loopback)."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                       source_address=(source, 0) if source else None)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

