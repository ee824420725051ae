"""pg.py - a real PostgreSQL for the tests: initdb into a temporary folder as an unprivileged
user (tests run as root; PostgreSQL refuses root), its unix socket in that folder, a free
port, stopped with pg_ctl at the end. Also a wrapper: `pg.py CMD...` runs CMD with a cluster
whose address is in $GAZETTE_TEST_PG (host folder and port), and skips (77) without the
binaries."""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

USER = "nobody"  # the unprivileged owner of the cluster's files and processes
ROLE = "gazette"  # the superuser role inside it (trust authentication on the socket only)


def bindir():
    """Where initdb, postgres, pg_ctl and pg_isready are (Debian keeps them off PATH, in
    pg_config's bindir), or None."""
    cands = []
    try:
        cands.append(subprocess.run(["pg_config", "--bindir"], capture_output=True,
                                    text=True).stdout.strip())
    except FileNotFoundError:
        pass
    if shutil.which("initdb"):
        cands.append(os.path.dirname(os.path.realpath(shutil.which("initdb"))))
    for d in cands:
        if d and all(os.path.exists(os.path.join(d, b)) for b in
                     ("initdb", "postgres", "pg_ctl", "pg_isready")):
            return d
    return None


def as_user(cmd, pdeathsig=None):
    """cmd run as USER; with pdeathsig, that signal reaches it when this process dies."""
    return ["setpriv", "--reuid=" + USER, "--regid=" + str(pwd.getpwnam(USER).pw_gid),
            "--clear-groups"] + (["--pdeathsig", pdeathsig] if pdeathsig else []) + ["--"] + cmd


def exit_on_sigterm():
    """SIGTERM (meson's timeout) runs the finally blocks that stop the servers and remove
    their folders, instead of killing this process with them left behind."""
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    except ValueError:
        pass  # not the main thread


class Postgres:
    def __init__(self):
        self.bin = bindir()
        if not self.bin:
            raise FileNotFoundError("PostgreSQL's initdb and pg_ctl")
        exit_on_sigterm()
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="gazette-pg-")
        os.chmod(self.dir, 0o755)
        os.chown(self.dir, pwd.getpwnam(USER).pw_uid, pwd.getpwnam(USER).pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = 5432  # names the socket in our own folder only: no TCP, nothing to collide
        self.serial = 0
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8",
                    "HOME": self.dir}
        subprocess.run(as_user([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", ROLE,
                                "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                       check=True, capture_output=True, env=self.env, cwd=self.dir)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            # only the socket in our folder, and loopback; fsync stays on (durability is tested)
            f.write("listen_addresses = ''\nport = %d\n" % self.port)
            f.write("unix_socket_directories = '%s'\n" % self.dir)
            f.write("max_connections = 200\nshared_buffers = 64MB\n")

    def start(self, timeout=60):
        """The postmaster as a child of this process (not a pg_ctl daemon), told to quit
        immediately (SIGQUIT) if this process dies however it dies: it never outlives the
        test."""
        self.log_file = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = subprocess.Popen(as_user([os.path.join(self.bin, "postgres"), "-D", self.data],
                                             pdeathsig="QUIT"),
                                     stdout=self.log_file, stderr=subprocess.STDOUT, env=self.env,
                                     cwd=self.dir)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("postgres exited %d: %s" % (self.proc.returncode, self.log()))
            r = subprocess.run([os.path.join(self.bin, "pg_isready"), "-q", "-h", self.dir, "-p",
                                str(self.port)], env=self.env)
            if r.returncode == 0:
                return self
            time.sleep(0.05)
        raise AssertionError("postgres did not start: " + self.log())

    def stop(self, mode="fast"):
        if not self.proc or self.proc.poll() is not None:
            return
        subprocess.run(as_user([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "-t", "60",
                                "-m", mode, "stop"]), capture_output=True, env=self.env,
                       cwd=self.dir)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()

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


def skip_or_fail(why):
    """Without the binaries: skipped (77), unless $GAZETTE_REQUIRE_PG (scripts/test sets it:
    there a missing PostgreSQL is a failure, not a green run that tested nothing)."""
    print(why)
    sys.exit(1 if os.environ.get("GAZETTE_REQUIRE_PG") else 77)


if __name__ == "__main__":
    exit_on_sigterm()
    if not bindir() or not shutil.which("psql"):
        skip_or_fail("PostgreSQL binaries not found: skipped")
    pg = None
    child = None
    try:
        pg = Postgres().start()
        env = dict(os.environ, GAZETTE_TEST_PG="%s:%d" % (pg.dir, pg.port))
        child = subprocess.Popen(sys.argv[1:], env=env)
        sys.exit(child.wait())
    finally:
        if child and child.poll() is None:
            # stopped from outside (meson's timeout): the test cleans up first, then us
            child.terminate()
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
        if pg:
            pg.cleanup()
