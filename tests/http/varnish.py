"""varnish.py - Debian's real varnishd running deploy/varnish.vcl, everything in a temporary
folder, stopped by its PID. Shared by test_varnish.py and tests/bench/outbound."""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import SOURCE_ROOT, check
from nginx import die_with_parent

VARNISHD = "/usr/sbin/varnishd"


class Varnish:
    """varnishd in the foreground with deploy/varnish.vcl, its working folder temporary."""

    def __init__(self, port, backend_port, purge_port):
        check(os.path.exists(VARNISHD), "%s is missing: scripts/test installs the varnish "
              "package (TEST_PACKAGES in scripts/deps.sh)" % VARNISHD)
        self.dir = tempfile.mkdtemp(prefix="gazette-varnish-")
        self.port = port
        self.purge_port = purge_port
        with open(os.path.join(SOURCE_ROOT, "deploy", "varnish.vcl")) as f:
            vcl = f.read()
        check('.port = "8080";' in vcl, "deploy/varnish.vcl no longer names port 8080")
        vcl = vcl.replace('.port = "8080";', '.port = "%d";' % backend_port)
        self.vcl = os.path.join(self.dir, "gazette.vcl")
        with open(self.vcl, "w") as f:
            f.write(vcl)
        self.log = open(os.path.join(self.dir, "varnishd.log"), "w+")
        self.proc = subprocess.Popen(
            [VARNISHD, "-F", "-j", "none", "-n", os.path.join(self.dir, "work"),
             "-a", "127.0.0.1:%d" % port, "-a", "purge=127.0.0.1:%d" % purge_port,
             "-T", "127.0.0.1:0", "-f", self.vcl,
             "-s", "malloc,64m"],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        deadline = time.time() + 30
        while time.time() < deadline:
            check(self.proc.poll() is None, "varnishd exited: " + self.output())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("varnishd did not listen: " + self.output())

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def request(self, method, path, headers=None, port=None):
        c = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        h = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, h, body

    def get(self, path):
        return self.request("GET", path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


