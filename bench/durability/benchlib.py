"""Shared pieces of the durability benchmarks: one sluice process, timed start and stop, a raw
ApiVersions probe, percentiles and a description of the machine.

A BenchBroker owns one process, one loopback port and one data directory.  Every wait is bounded.
The process is stopped by its PID and never by name; every BenchBroker still running when the
script exits (normally, by an exception, or by SIGINT/SIGTERM) is SIGKILLed.

The broker's stderr is read through a pipe by a thread that stamps each line with the monotonic
clock when it arrives, so the time of the broker's "event=ready" line is known without the broker
printing timestamps.  Every line also goes to <workdir>/stderr.log.
"""

import atexit
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_BINARY = os.environ.get("SLUICE_BIN") or os.path.join(REPO, "build-bench", "src", "server", "sluice")
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class BrokerError(Exception):
    pass


def free_port():
    """A port that was free on 127.0.0.1 a moment ago (the kernel picks it)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ---------------------------------------------------------------------------------------------
# A raw ApiVersions v0 request: the cheapest question that proves the broker serves requests.

def _api_versions_v0(correlation_id):
    client_id = b"durability-bench"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    return struct.pack(">i", len(body)) + body


def _read_exact(sock, count):
    chunks = []
    while count > 0:
        chunk = sock.recv(count)
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def api_versions_ok(port, timeout_s=5.0, connect_timeout_s=0.2):
    """True once 127.0.0.1:port answers ApiVersions v0 with error 0; False when the port refuses
    the connection (not listening yet).  Other failures raise.

    The connect has its own short bound: a listener accepts in the kernel, so a connect to a live
    listener completes at once even when the broker is busy, and a SYN that was dropped would
    otherwise cost the 1 s SYN retransmission."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(connect_timeout_s)
    try:
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return False
        sock.settimeout(timeout_s)
        sock.sendall(_api_versions_v0(7))
        (size,) = struct.unpack(">i", _read_exact(sock, 4))
        payload = _read_exact(sock, size)
        correlation_id, error_code = struct.unpack(">ih", payload[:6])
        if correlation_id != 7:
            raise BrokerError("ApiVersions answered with correlation id %d" % correlation_id)
        return error_code == 0
    finally:
        sock.close()


def tcp_listening(port):
    """True while any socket listens on 127.0.0.1:port or 0.0.0.0:port (from /proc/net/tcp, so
    asking makes no connection)."""
    suffix = ":%04X" % port
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1].endswith(suffix) and fields[3] == "0A":  # 0A: TCP_LISTEN
                return True
    return False


# ---------------------------------------------------------------------------------------------
# Process bookkeeping: every live broker is killed on exit.

_live = []


def _kill_all():
    for broker in list(_live):
        try:
            broker.kill_quietly()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def _on_signal(signum, frame):
    _kill_all()
    os._exit(128 + signum)


atexit.register(_kill_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def _proc_stat_cpu_s(pid):
    """User and system CPU seconds of a live process, all threads (from /proc/<pid>/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ")" that ends comm: fields[0] is state (field 3), utime is field 14, stime 15.
    return int(fields[11]) / CLOCK_TICKS_PER_S, int(fields[12]) / CLOCK_TICKS_PER_S


def _proc_status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


class BenchBroker:
    """One sluice process on 127.0.0.1:<port>, data in <data_dir>, cwd and stderr.log in <workdir>."""

    def __init__(self, binary, workdir, data_dir, port, overrides=None):
        self.binary = binary
        self.workdir = workdir
        self.data_dir = data_dir
        self.port = port
        self.overrides = dict(overrides or {})
        self.stderr_path = os.path.join(workdir, "stderr.log")
        self.proc = None
        self.t_exec = None
        self.probe_failures = []
        self.port_listening_at_exec = None
        self.lines = []           # (monotonic seconds, line) of the current process
        self._lines_lock = threading.Lock()
        self._reader = None
        self.starts = 0

    def command(self):
        cmd = [self.binary,
               "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % self.port,
               "--override", "log.dirs=%s" % self.data_dir]
        for key, value in self.overrides.items():
            cmd += ["--override", "%s=%s" % (key, value)]
        return cmd

    # Start.

    def start(self, timeout_s=120.0):
        """Starts the process and waits until it answers ApiVersions.  Returns the timings in
        seconds from just before exec: ready_log_s (its "event=ready" line arrived), serving_s
        (first ApiVersions answer), plus cpu_s (broker CPU time at serving), rss_kib and fds."""
        if self.running():
            raise BrokerError("already running")
        if not os.access(self.binary, os.X_OK):
            raise BrokerError("broker binary %s not found or not executable (--binary or SLUICE_BIN)"
                              % self.binary)
        self.starts += 1
        with open(self.stderr_path, "ab") as f:
            f.write(("=== start #%d: %s\n" % (self.starts, " ".join(self.command()))).encode())
        with self._lines_lock:
            self.lines = []
        self.port_listening_at_exec = tcp_listening(self.port)
        t_exec = self.t_exec = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd=self.workdir)
        _live.append(self)
        self._reader = threading.Thread(target=self._read_stderr, args=(self.proc.stderr,), daemon=True)
        self._reader.start()
        try:
            t_serving = self._wait_serving(timeout_s)
        except BaseException:
            self.kill_quietly()
            raise
        ready = self.first_line_with("event=ready ", wait_s=2.0)
        user_s, system_s = _proc_stat_cpu_s(self.proc.pid)
        return {
            "probe_failures": self.probe_failures,
            "port_listening_at_exec": self.port_listening_at_exec,
            "serving_s": t_serving - t_exec,
            "ready_log_s": (ready[0] - t_exec) if ready else None,
            "cpu_s": user_s + system_s,
            "rss_kib": _proc_status_kib(self.proc.pid, "VmRSS"),
            "fds": len(os.listdir("/proc/%d/fd" % self.proc.pid)),
        }

    def _wait_serving(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        self.probe_failures = []
        while True:
            if self.proc.poll() is not None:
                raise BrokerError("broker exited with code %d during start-up; last lines:\n%s"
                                  % (self.proc.returncode, self.tail()))
            # Refused means "not listening yet": the listener opens after every log is loaded, so
            # polling the port is cheap and costs the starting broker nothing.  A reset or a
            # timeout is kept and retried: the port was taken, but not served.
            try:
                if api_versions_ok(self.port):
                    return time.monotonic()
            except (OSError, BrokerError) as e:
                self.probe_failures.append("%.3fs %r" % (time.monotonic() - self.t_exec, e))
            if time.monotonic() > deadline:
                raise BrokerError("broker not serving after %.0fs; last lines:\n%s" % (timeout_s, self.tail()))
            time.sleep(0.001)

    def _read_stderr(self, pipe):
        with open(self.stderr_path, "ab") as log:
            for raw in iter(pipe.readline, b""):
                now = time.monotonic()
                log.write(raw)
                log.flush()
                with self._lines_lock:
                    self.lines.append((now, raw.decode("utf-8", "replace").rstrip("\n")))
        pipe.close()

    # Questions about the current process's stderr.

    def first_line_with(self, text, wait_s=0.0):
        deadline = time.monotonic() + wait_s
        while True:
            with self._lines_lock:
                for entry in self.lines:
                    if text in entry[1]:
                        return entry
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.005)

    def last_line_with(self, text):
        with self._lines_lock:
            for entry in reversed(self.lines):
                if text in entry[1]:
                    return entry
        return None

    def lines_with(self, text):
        with self._lines_lock:
            return [line for _, line in self.lines if text in line]

    def tail(self, count=20):
        with self._lines_lock:
            return "\n".join(line for _, line in self.lines[-count:])

    # Stop.

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cpu_s(self):
        user_s, system_s = _proc_stat_cpu_s(self.proc.pid)
        return user_s + system_s

    def stop(self, sig=signal.SIGTERM, timeout_s=120.0):
        """Sends `sig` and waits for the exit.  Returns stop_s (signal to reaped), the exit code
        (negative: killed by that signal) and the CPU seconds of the process's whole life."""
        if not self.running():
            raise BrokerError("not running")
        pid = self.proc.pid
        pidfd = os.pidfd_open(pid)
        try:
            t_signal = time.monotonic()
            os.kill(pid, sig)
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            if not poller.poll(timeout_s * 1000):
                self.kill_quietly()
                raise BrokerError("broker did not exit within %.0fs of signal %d" % (timeout_s, sig))
            _, status, usage = os.wait4(pid, 0)
            t_exit = time.monotonic()
        finally:
            os.close(pidfd)
        code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = code  # reaped here, so Popen must not wait for it again
        self._forget()
        # The listening socket can outlive the process: io_uring tears its ring down after the
        # exit, and the ring holds the socket.  Until it is gone a connect still succeeds (then
        # is reset), and with SO_REUSEPORT the next broker binds beside it.  Wait it out, so the
        # next start is timed from a free port, and report how long it took.
        linger_deadline = time.monotonic() + 30
        while tcp_listening(self.port) and time.monotonic() < linger_deadline:
            time.sleep(0.002)
        return {"stop_s": t_exit - t_signal, "exit_code": code,
                "listener_gone_after_exit_s": time.monotonic() - t_exit,
                "life_cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_kib": usage.ru_maxrss}

    def kill_quietly(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        self._forget()

    def _forget(self):
        if self._reader is not None:
            self._reader.join(timeout=5)
            self._reader = None
        if self in _live:
            _live.remove(self)


# ---------------------------------------------------------------------------------------------
# Figures.

def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an already sorted list (fraction in [0, 1])."""
    if not sorted_values:
        return None
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))  # ceil, at least 1
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(values):
    """min/median/max (and count) of a list of numbers."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"count": len(ordered), "min": ordered[0], "median": median, "max": ordered[-1]}


def latency_summary_ms(latencies_ns):
    """Percentiles in milliseconds of a list of nanosecond latencies."""
    ordered = sorted(latencies_ns)
    if not ordered:
        return {"count": 0}
    ms = lambda ns: round(ns / 1e6, 4)  # noqa: E731
    return {"count": len(ordered),
            "p50_ms": ms(percentile(ordered, 0.50)),
            "p90_ms": ms(percentile(ordered, 0.90)),
            "p99_ms": ms(percentile(ordered, 0.99)),
            "p999_ms": ms(percentile(ordered, 0.999)),
            "max_ms": ms(ordered[-1]),
            "mean_ms": ms(sum(ordered) / len(ordered))}


def table(headers, rows):
    """A plain text table: one header line, a rule, then the rows (cells already strings)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Where and on what the figures were taken.

def _run(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10,
                              check=False).stdout.decode("utf-8", "replace").strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unavailable: %r" % (e,)


def _source_dir_of(binary):
    """The source tree the binary was built from: the nearest parent of its build directory that
    holds a meson.build and a src/ folder (the repository when it cannot tell)."""
    path = os.path.dirname(os.path.abspath(binary))
    while path != os.path.dirname(path):
        if os.path.isdir(os.path.join(path, "src")) and os.path.exists(os.path.join(path, "meson.build")) \
                and os.path.isdir(os.path.join(path, "tools")):
            return path
        path = os.path.dirname(path)
    return REPO


def describe_environment(binary, log_dir):
    """The broker build and the machine: commit, dirty source files, CPUs, kernel, the log dir's
    filesystem and device, and the load average when the run started."""
    source = _source_dir_of(binary)
    if os.path.exists(os.path.join(source, "SOURCE_COMMIT")):
        # A clean export (git archive) of one commit, built outside the work tree.
        with open(os.path.join(source, "SOURCE_COMMIT")) as f:
            commit, dirty = f.read().strip(), ""
    else:
        commit = _run(["git", "-C", source, "rev-parse", "HEAD"])
        dirty = _run(["git", "-C", source, "status", "--porcelain", "--", "src", "meson.build"])
    device = _run(["findmnt", "-n", "-o", "SOURCE", "-T", log_dir])
    rotational = None
    name = os.path.basename(device) if device.startswith("/dev/") else None
    if name:
        try:
            with open("/sys/block/%s/queue/rotational" % name) as f:
                rotational = f.read().strip() == "1"
        except OSError:
            pass
    return {
        "broker_binary": binary,
        "broker_binary_mtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(os.path.getmtime(binary)))
        if os.path.exists(binary) else None,
        "broker_source": source,
        "broker_commit": commit,
        "broker_src_uncommitted_now": [l for l in dirty.splitlines() if l.strip()],
        "cpus": os.cpu_count(),
        "kernel": _run(["uname", "-r"]),
        "python": sys.version.split()[0],
        "log_dir": log_dir,
        "df_T": _run(["df", "-T", log_dir]),
        "findmnt": _run(["findmnt", "-T", log_dir]),
        "device_rotational": rotational,
        "loadavg_at_start": os.getloadavg(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
