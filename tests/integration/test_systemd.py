"""The broker speaks systemd's notify protocol: the real binary runs with NOTIFY_SOCKET pointing at a
datagram socket this test reads, as systemd would give a Type=notify service with WatchdogSec=.

Goal: READY=1 comes only once the broker serves requests (an ApiVersions sent right after it is
answered), WATCHDOG=1 pings keep coming while it runs, SIGTERM brings STOPPING=1 and a clean stop
(exit 0, the clean-shutdown marker), and the next start is clean. The stop deadline
(shutdown.timeout.ms) ends a stop that takes too long without the marker. Also checks the log
format: level and component first, a ts= field on a plain stderr, none under journald.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import harness
import kproto

WATCHDOG_USEC = 2000000  # 2 s: the broker probes its loops every 0.5 s


class NotifySocket:
    """A bound AF_UNIX datagram socket standing in for systemd's notify socket."""

    def __init__(self):
        # sun_path holds 108 bytes, fewer than a deep test directory may need: use a short one.
        self.directory = tempfile.mkdtemp(prefix="sn-", dir="/tmp")
        self.path = os.path.join(self.directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def receive(self, timeout_s):
        """One datagram as a list of KEY=VALUE lines, or None after timeout_s."""
        self.sock.settimeout(timeout_s)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        lines = data.decode().split("\n")
        self.messages.append(lines)
        return lines

    def wait_for(self, key, timeout_s, what=None):
        """Reads datagrams until one has a line starting with `key`; returns that datagram."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            lines = self.receive(max(0.05, deadline - time.monotonic()))
            if lines and any(line.startswith(key) for line in lines):
                return lines
        raise AssertionError("no %s from the broker within %.0fs; got %r" % (what or key, timeout_s, self.messages))

    def close(self):
        self.sock.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_notified(b, notify, extra_env=None):
    """Starts b's process with the notify environment, without waiting for it to serve. Returns
    where this start's lines begin in b's stderr text."""
    since = len(b.stderr_text())
    env = dict(os.environ)
    env["NOTIFY_SOCKET"] = notify.path
    env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
    env.pop("WATCHDOG_PID", None)
    env.pop("JOURNAL_STREAM", None)
    env.update(extra_env or {})
    b.starts += 1
    err = open(b.stderr_path, "ab")
    try:
        b.proc = subprocess.Popen(b.command(), stdin=subprocess.DEVNULL, stdout=err, stderr=err, cwd=b.workdir, env=env)
    finally:
        err.close()
    harness._live.append(b)
    return since


def stop_and_wait(b, timeout_s=60):
    os.kill(b.proc.pid, 15)
    code = b.proc.wait(timeout=timeout_s)
    b._reaped(code)
    return code


def api_versions_once(b):
    with kproto.Client(b.host, b.port, timeout=5.0) as c:
        return c.api_versions(0)


@harness.timeout(120)
def test_ready_watchdog_stopping_clean_restart():
    b = harness.Broker(name="systemd", overrides={"offsets.topic.num.partitions": "2"})
    notify = NotifySocket()
    try:
        start_notified(b, notify)
        ready = notify.wait_for("READY=1", 30)
        # READY only once it serves: a request sent now is answered without retrying.
        resp = api_versions_once(b)
        assert resp["error_code"] == 0 and resp["api_keys"], resp
        assert any(line.startswith("STATUS=Serving on") for line in ready), ready
        starting = [m for m in notify.messages if "STATUS=Starting: opening the log directory" in m]
        assert starting and notify.messages.index(starting[0]) < notify.messages.index(ready), notify.messages
        # The watchdog keeps being fed while the broker runs and serves.
        b.create_topic("pinged", 2)
        for _ in range(3):
            notify.wait_for("WATCHDOG=1", 30)
        assert b.running()
        # SIGTERM: STOPPING=1, then a clean stop.
        os.kill(b.proc.pid, 15)
        stopping = notify.wait_for("STOPPING=1", 30)
        assert any(line.startswith("STATUS=Stopping") for line in stopping), stopping
        code = b.proc.wait(timeout=60)
        b._reaped(code)
        assert code == 0, code
        assert os.path.exists(os.path.join(b.data_dir, ".kafka_cleanshutdown"))
        text = b.stderr_text()
        assert "event=stopped clean=true" in text, text[-2000:]
        assert "event=stop_done ms=" in text
        # The clean start after it skips recovery and is ready again.
        notify.messages.clear()
        since = start_notified(b, notify)
        notify.wait_for("READY=1", 30)
        assert api_versions_once(b)["error_code"] == 0
        assert "clean_shutdown=true" in b.stderr_text()[since:], b.stderr_text()[since:]
        assert stop_and_wait(b) == 0
    except BaseException:
        b.dump_stderr()
        raise
    finally:
        notify.close()
        b.close()


@harness.timeout(120)
def test_stop_deadline_exits_uncleanly():
    """A stop that passes shutdown.timeout.ms ends the process with status 1 and no marker.
    Method: a 1 ms deadline, which the stop of a broker with partitions cannot meet."""
    b = harness.Broker(name="deadline", overrides={"offsets.topic.num.partitions": "8",
                                                    "shutdown.timeout.ms": "1"})
    notify = NotifySocket()
    try:
        start_notified(b, notify)
        notify.wait_for("READY=1", 30)
        os.kill(b.proc.pid, 15)
        notify.wait_for("STOPPING=1", 30)
        code = b.proc.wait(timeout=60)
        b._reaped(code)
        text = b.stderr_text()
        if "event=stop_done" in text:
            raise harness.Skip("the stop finished within 1 ms on this host; the deadline path was not reached")
        assert code == 1, code
        assert "event=stop_deadline_passed" in text, text[-2000:]
        assert not os.path.exists(os.path.join(b.data_dir, ".kafka_cleanshutdown"))
        # The next start recovers, as after a crash, and serves.
        b.overrides.pop("shutdown.timeout.ms")
        since = len(b.stderr_text())
        b.start()
        assert "clean_shutdown=false" in b.stderr_text()[since:]
        assert b.stop() == 0
    except BaseException:
        b.dump_stderr()
        raise
    finally:
        notify.close()
        b.close()


@harness.timeout(60)
def test_runs_the_same_without_systemd():
    """No NOTIFY_SOCKET: no notification is attempted, the broker serves and stops cleanly, and
    its log lines start with level and component and carry a ts= field."""
    saved = {k: os.environ.pop(k) for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM") if k in os.environ}
    try:
        with harness.Broker(name="plain") as b:
            b.assert_alive()
            assert b.stop() == 0
            lines = [l for l in b.stderr_text().splitlines() if l.startswith("level=")]
            assert lines, b.stderr_text()
            for line in lines:
                words = line.split(" ")
                assert words[0].startswith("level=") and words[1].startswith("component="), line
                assert words[2].startswith("event="), line
                assert words[-1].startswith("ts=") and words[-1].endswith("Z"), line
            assert "sd_notify_failed" not in b.stderr_text()
    finally:
        os.environ.update(saved)


@harness.timeout(60)
def test_journald_lines_have_priority_and_no_timestamp():
    """JOURNAL_STREAM naming the broker's stderr (device:inode, as systemd sets it) switches the
    lines to journald's form: a <priority> prefix and no ts= field (journald adds the time)."""
    b = harness.Broker(name="journal")
    notify = NotifySocket()
    try:
        open(b.stderr_path, "ab").close()
        st = os.stat(b.stderr_path)
        start_notified(b, notify, {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
        notify.wait_for("READY=1", 30)
        assert stop_and_wait(b) == 0
        lines = [l for l in b.stderr_text().splitlines() if "level=" in l]
        assert any(l.startswith("<6>level=info component=broker event=ready ") for l in lines), lines
        for line in lines:
            assert line.startswith("<"), line
            assert " ts=" not in line, line
    except BaseException:
        b.dump_stderr()
        raise
    finally:
        notify.close()
        b.close()


UNIT = os.path.join(harness.REPO, "tools", "systemd", "sluice.service")
MAN_PAGE = os.path.join(harness.REPO, "man", "sluice.1")


def _unit_for_verify(directory):
    """The unit with ExecStart pointing at the binary under test (systemd-analyze verify checks
    that the command exists), and a MANPATH holding our man page (it checks Documentation=)."""
    with open(UNIT) as f:
        text = f.read()
    assert "ExecStart=/usr/bin/sluice " in text
    path = os.path.join(directory, "sluice.service")
    with open(path, "w") as f:
        f.write(text.replace("ExecStart=/usr/bin/sluice ", "ExecStart=%s " % harness.SLUICE_BIN))
    os.makedirs(os.path.join(directory, "man", "man1"))
    shutil.copy(MAN_PAGE, os.path.join(directory, "man", "man1", "sluice.1"))
    env = dict(os.environ, MANPATH=os.path.join(directory, "man"))
    return path, env


@harness.timeout(60)
def test_unit_passes_systemd_analyze_verify():
    """systemd-analyze verify has nothing to say about the unit. In a container it may complain
    about the host (no systemd as PID 1, other units); only lines naming our unit count."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        raise harness.Skip("systemd-analyze is not installed (tools/setup installs the systemd package)")
    directory = tempfile.mkdtemp(prefix="sluice-unit-", dir=harness.tmp_root())
    try:
        path, env = _unit_for_verify(directory)
        p = subprocess.run([analyze, "verify", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30, env=env)
        out = p.stdout.decode()
        ours = [line for line in out.splitlines() if "sluice" in line]
        assert not ours, "systemd-analyze verify on the unit:\n" + out
        if p.returncode != 0:
            print("systemd-analyze verify exited %d with only host complaints:\n%s" % (p.returncode, out))
        with open(UNIT) as f:
            text = f.read()
        for needed in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "LimitNOFILE=", "LimitMEMLOCK=",
                       "User=sluice", "StateDirectory=sluice", "ProtectSystem=strict", "ProtectHome=",
                       "NoNewPrivileges=yes", "ReadWritePaths=/var/lib/sluice"):
            assert needed in text, needed
        # The hardening leaves little exposed (systemd's own score, 0 best .. 10 worst).
        p = subprocess.run([analyze, "security", "--offline=yes", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30, env=env)
        out = p.stdout.decode()
        score = [line for line in out.splitlines() if "Overall exposure level" in line]
        if score:
            value = float(score[-1].split("sluice.service:")[1].split()[0])
            assert value <= 3.0, out[-3000:]
    finally:
        shutil.rmtree(directory, ignore_errors=True)
