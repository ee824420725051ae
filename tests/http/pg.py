"""pg.py - a real PostgreSQL for the tests: initdb into a temporary folder as an unprivileged
user (tests run as root; PostgreSQL refuses root), its unix socket in that folder, a free
port, stopped with pg_ctl at the end. Also a wrapper: `pg.py CMD...` runs CMD with a cluster
whose address is in $GAZETTE_TEST_PG (host folder and port), and skips (77) without the
binaries."""

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

USER = "nobody"  # the unprivileged owner of the cluster's files and processes
ROLE = "gazette"  # the superuser role inside it (trust authentication on the socket only)


def bindir():
    """Where initdb and pg_ctl are (Debian keeps them off PATH), or None."""
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return os.path.dirname(shutil.which("initdb"))
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        return None
    if out and os.path.exists(os.path.join(out, "initdb")) and os.path.exists(os.path.join(out, "pg_ctl")):
        return out
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def as_user(cmd):
    """cmd run as USER (with a clean environment PostgreSQL is happy with)."""
    return ["setpriv", "--reuid=" + USER, "--regid=" + str(pwd.getpwnam(USER).pw_gid),
            "--clear-groups", "--"] + cmd


class Postgres:
    def __init__(self):
        self.bin = bindir()
        if not self.bin:
            raise FileNotFoundError("PostgreSQL's initdb and pg_ctl")
        self.dir = tempfile.mkdtemp(prefix="gazette-pg-")
        os.chmod(self.dir, 0o755)
        os.chown(self.dir, pwd.getpwnam(USER).pw_uid, pwd.getpwnam(USER).pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.serial = 0
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8",
                    "HOME": self.dir}
        subprocess.run(as_user([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", ROLE,
                                "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                       check=True, capture_output=True, env=self.env, cwd=self.dir)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            # only the socket in our folder, and loopback; fsync stays on (durability is tested)
            f.write("listen_addresses = '127.0.0.1'\nport = %d\n" % self.port)
            f.write("unix_socket_directories = '%s'\n" % self.dir)
            f.write("max_connections = 200\nshared_buffers = 64MB\n")

    def start(self):
        r = subprocess.run(as_user([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "-t", "60",
                                    "-l", os.path.join(self.dir, "server.log"), "start"]),
                           capture_output=True, text=True, env=self.env, cwd=self.dir)
        if r.returncode != 0:
            raise AssertionError("pg_ctl start: %s %s %s" % (r.stdout, r.stderr, self.log()))
        return self

    def stop(self, mode="fast"):
        subprocess.run(as_user([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "-t", "60",
                                "-m", mode, "stop"]), capture_output=True, env=self.env,
                       cwd=self.dir)

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def cleanup(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db):
        return "postgresql://%s@/%s?host=%s&port=%d" % (ROLE, db, self.dir, self.port)

    def psql(self, sql, db="postgres"):
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                            "-p", str(self.port), "-U", ROLE, "-d", db, "-c", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError("psql %r: %s" % (sql, r.stderr))
        return r.stdout.strip()

    def new_database(self):
        """A fresh, empty UTF-8 database; returns its URL."""
        self.serial += 1
        name = "t%d_%d" % (os.getpid(), self.serial)
        self.psql("CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0" % name)
        return self.url(name)


def from_env():
    """The cluster the wrapper started, as (host folder, port), or None."""
    v = os.environ.get("GAZETTE_TEST_PG")
    if not v:
        return None
    host, port = v.rsplit(":", 1)
    return host, int(port)


class Attached(Postgres):
    """The wrapper's cluster, used by a test process (never stopped by it)."""

    def __init__(self, host, port):
        self.dir, self.port, self.serial = host, port, 0

    def cleanup(self):
        pass


_attached = None


def attached():
    global _attached
    if _attached is None:
        where = from_env()
        _attached = Attached(*where) if where else False
    return _attached or None


if __name__ == "__main__":
    if not bindir() or not shutil.which("psql"):
        print("PostgreSQL binaries not found: skipped")
        sys.exit(77)
    pg = Postgres().start()
    try:
        env = dict(os.environ, GAZETTE_TEST_PG="%s:%d" % (pg.dir, pg.port))
        sys.exit(subprocess.run(sys.argv[1:], env=env).returncode)
    finally:
        pg.cleanup()
