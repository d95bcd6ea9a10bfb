"""Starts and stops the real sluice binary for integration tests.

A Broker owns one process, one loopback port and one data directory.  Every wait is bounded;
the process is stopped by its PID (SIGTERM, then SIGKILL after a bound) and never by name.
Its stderr goes to a file that is printed when a test fails.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import kproto

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SLUICE_BIN = os.path.abspath(os.environ.get("SLUICE_BIN") or os.path.join(REPO, "build", "src", "server", "sluice"))
KCAT = shutil.which("kcat") or "/usr/bin/kcat"
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


class Skip(Exception):
    """Raise to report a test as skipped, with the reason."""


class BrokerError(Exception):
    pass


def timeout(seconds):
    """Decorator: the runner's time limit for one test (default 120 s)."""
    def wrap(fn):
        fn.timeout_seconds = seconds
        return fn
    return wrap


def tmp_root():
    root = os.environ.get("SLUICE_TEST_TMP")
    if root:
        os.makedirs(root, exist_ok=True)
        return root
    return tempfile.gettempdir()


_used_ports = set()


def free_port():
    """A port that was free on 127.0.0.1 a moment ago (the kernel picks it)."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise BrokerError("no free port found")


def wait_for(predicate, timeout_s, interval_s=0.05, what="condition"):
    """Polls `predicate` until it returns a truthy value; raises after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - report the last one
            last_error = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s%s" % (
                timeout_s, what, (" (last error: %r)" % (last_error,)) if last_error else ""))
        time.sleep(interval_s)


_live = []


def wait_until(b, predicate, timeout_s, interval_s=0.1, what="condition"):
    """wait_for that fails at once if broker `b`'s process died."""
    def check():
        if not b.running():
            code = b.proc.returncode if b.proc is not None else b.last_exit_code
            raise BrokerDied("broker exited (code %s) while waiting for %s" % (code, what))
        return predicate()
    deadline = time.monotonic() + timeout_s
    last_error = None
    while True:
        try:
            value = check()
            if value:
                return value
        except BrokerDied:
            raise
        except Exception as e:  # noqa: BLE001 - reported on timeout
            last_error = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s%s" % (
                timeout_s, what, (" (last error: %r)" % (last_error,)) if last_error else ""))
        time.sleep(interval_s)


class BrokerDied(AssertionError):
    pass


def _cleanup_all():
    for b in list(_live):
        try:
            b.kill()
        except Exception:  # noqa: BLE001
            pass


atexit.register(_cleanup_all)


def _on_term(signum, frame):
    _cleanup_all()
    os._exit(128 + signum)


signal.signal(signal.SIGTERM, _on_term)


class Broker:
    """One sluice process on 127.0.0.1:<port> with data in <data_dir>."""

    def __init__(self, overrides=None, name="broker", data_dir=None, port=None,
                 start_timeout_s=30.0, stop_timeout_s=20.0):
        self.name = name
        self.port = port or free_port()
        self.workdir = tempfile.mkdtemp(prefix="sluice-%s-" % name, dir=tmp_root())
        self.data_dir = data_dir or os.path.join(self.workdir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.stderr_path = os.path.join(self.workdir, "stderr.log")
        self.overrides = dict(overrides or {})
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.proc = None
        self.last_exit_code = None
        self.starts = 0

    # Properties.

    @property
    def host(self):
        return "127.0.0.1"

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def partition_dir(self, topic, partition):
        return os.path.join(self.data_dir, "%s-%d" % (topic, partition))

    def command(self):
        cmd = [SLUICE_BIN,
               "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % self.port,
               "--override", "log.dirs=%s" % self.data_dir]
        for k, v in self.overrides.items():
            cmd += ["--override", "%s=%s" % (k, v)]
        return cmd

    # Lifecycle.

    def start(self):
        if self.running():
            raise BrokerError("already running")
        if not os.access(SLUICE_BIN, os.X_OK):
            raise BrokerError("broker binary %s not found or not executable (set SLUICE_BIN)"
                              % SLUICE_BIN)
        self.starts += 1
        with open(self.stderr_path, "ab") as f:
            f.write(("=== start #%d: %s\n" % (self.starts, " ".join(self.command()))).encode())
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=err,
                                         stderr=err, cwd=self.workdir)
        finally:
            err.close()
        _live.append(self)
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            self.dump_stderr()
            raise
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout_s
        last_error = None
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise BrokerError("broker exited with code %d during startup" % code)
            try:
                with kproto.Client(self.host, self.port, timeout=2.0) as c:
                    resp = c.api_versions(0)
                    if resp["error_code"] == kproto.NONE and resp["api_keys"]:
                        return
                    last_error = "ApiVersions error %d" % resp["error_code"]
            except (OSError, kproto.ConnectionClosed, kproto.DecodeError) as e:
                last_error = repr(e)
            time.sleep(0.05)
        raise BrokerError("broker not ready after %.0fs (last: %s)" % (self.start_timeout_s,
                                                                       last_error))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _signal(self, sig):
        if self.running():
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout_s=None):
        """SIGTERM, wait (bounded), then SIGKILL.  Returns the exit code (negative = signal)."""
        if self.proc is None:
            return self.last_exit_code
        self._signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout_s or self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            self._append_note("did not exit within %.0fs of SIGTERM; sending SIGKILL"
                              % (timeout_s or self.stop_timeout_s))
            self.proc.kill()
            code = self.proc.wait(timeout=10)
        return self._reaped(code)

    def kill(self):
        """SIGKILL (an unclean stop)."""
        if self.proc is None:
            return self.last_exit_code
        self._signal(signal.SIGKILL)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        return self._reaped(code)

    def _reaped(self, code):
        self.last_exit_code = code
        self.proc = None
        if self in _live:
            _live.remove(self)
        return code

    def restart(self, hard=False):
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    def close(self, keep_data=False):
        if self.running():
            self.kill()
        if not keep_data and not os.environ.get("SLUICE_KEEP_TMP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        if not self.running():
            self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and exc_type is not Skip:
            self.dump_stderr()
        self.close()
        return False

    # Diagnostics.

    def _append_note(self, text):
        with open(self.stderr_path, "ab") as f:
            f.write(("=== harness: %s\n" % text).encode())

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def dump_stderr(self, max_lines=200):
        lines = self.stderr_text().splitlines()
        sys.stdout.write("----- %s stderr (%s, last %d of %d lines) -----\n" % (
            self.name, self.stderr_path, min(max_lines, len(lines)), len(lines)))
        for line in lines[-max_lines:]:
            sys.stdout.write("  | %s\n" % line)
        sys.stdout.write("----- end %s stderr -----\n" % self.name)
        sys.stdout.flush()

    # Helpers on a running broker.

    def client(self, timeout=10.0):
        return kproto.Client(self.host, self.port, timeout=timeout)

    def assert_alive(self, what=""):
        """A fresh connection gets an ApiVersions answer: the broker neither died nor hung."""
        if not self.running():
            raise AssertionError("broker died%s (exit code %s)" % (
                (" after " + what) if what else "", self.proc.returncode if self.proc else
                self.last_exit_code))
        try:
            with self.client(timeout=10.0) as c:
                resp = c.api_versions(0)
        except Exception as e:
            raise AssertionError("broker did not answer ApiVersions%s: %r" % (
                (" after " + what) if what else "", e))
        assert resp["error_code"] == 0, resp

    def create_topic(self, name, partitions=1, configs=None, timeout_s=15.0):
        """Creates a topic with CreateTopics and waits until metadata shows every partition
        with a leader."""
        with self.client() as c:
            resp = c.create_topics([(name, partitions, configs)])
            (t,) = resp["topics"]
            if t["error_code"] != kproto.NONE:
                raise AssertionError("CreateTopics %s: error %d %s" % (
                    name, t["error_code"], t.get("error_message")))
        self.wait_topic(name, partitions, timeout_s)

    def wait_topic(self, name, partitions, timeout_s=15.0, auto_create=False):
        def ready():
            with self.client() as c:
                md, _ = c.metadata([name], auto_create=auto_create)
            for t in md["topics"]:
                if t["name"] == name and t["error_code"] == 0:
                    ps = t["partitions"]
                    if len(ps) == partitions and all(p["leader_id"] >= 0 and p["error_code"] == 0
                                                     for p in ps):
                        return True
            return False
        wait_for(ready, timeout_s, 0.1, "topic %s with %d partitions" % (name, partitions))


def run(cmd, timeout_s=60, input_bytes=None, check=True, env=None):
    """Runs a command with a bound; returns CompletedProcess (bytes).  Raises with its output
    when it fails or times out."""
    try:
        p = subprocess.run(cmd, input=input_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("command timed out after %ds: %s\nstdout tail: %r\nstderr tail: %r" % (
            timeout_s, " ".join(cmd), (e.stdout or b"")[-2000:], (e.stderr or b"")[-2000:]))
    if check and p.returncode != 0:
        raise AssertionError("command failed (%d): %s\nstdout tail: %r\nstderr tail: %r" % (
            p.returncode, " ".join(cmd), p.stdout[-2000:], p.stderr[-4000:]))
    return p


def unique(prefix):
    return "%s-%d-%d" % (prefix, os.getpid(), int(time.time() * 1000) % 1000000)


def format_exc():
    return traceback.format_exc()
