"""Process plumbing of the end-to-end harness: where the binaries are, running sluice-perf
commands (pinned with taskset, JSON parsed, CPU measured from the child's rusage), holding a
long-running helper (idle connections), and the Sluice broker (bench/durability's BenchBroker,
started under taskset).

Every process is started by the harness, waited for with a bound, and stopped by its PID;
BenchBroker kills any broker still running at exit.  Other long-running helpers are tracked in
_live_helpers and killed at exit too.
"""

import atexit
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "bench", "durability"))
import benchlib  # noqa: E402  (BenchBroker, free_port, describe_environment)

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class HarnessError(Exception):
    pass


def find_build_dir(explicit=None):
    """The build directory holding sluice and sluice-perf: --build-dir, else the one SLUICE_BIN
    lives in, else build-perf, build."""
    candidates = []
    if explicit:
        candidates.append(explicit)
    if os.environ.get("SLUICE_BIN"):
        candidates.append(os.path.dirname(os.path.dirname(os.path.dirname(os.environ["SLUICE_BIN"]))))
    candidates += [os.path.join(REPO, "build-perf"), os.path.join(REPO, "build")]
    for build in candidates:
        if os.access(os.path.join(build, "bench", "e2e", "sluice-perf"), os.X_OK) and \
                os.access(os.path.join(build, "src", "server", "sluice"), os.X_OK):
            return os.path.abspath(build)
    raise HarnessError("no build directory with src/server/sluice and bench/e2e/sluice-perf among %s "
                       "(build with: ninja -C <build> src/server/sluice bench/e2e/sluice-perf)" % candidates)


def raise_fd_limit(count):
    """Raises this process's open-file limit (children inherit it): 10,000 idle connections
    need as many descriptors in the client and in the server."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, count)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def pinned(cpu, cmd):
    """cmd under `taskset -c cpu` (unchanged when cpu is None)."""
    return cmd if cpu is None else ["taskset", "-c", str(cpu)] + list(cmd)


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def run_measured(cmd, timeout_s, cwd=None):
    """Runs cmd to completion (killed after timeout_s).  Returns (stdout text, stderr text,
    wall seconds, the reaped Popen).  Wrap it in ChildCpu for the child's CPU seconds."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    out, err = communicate(proc, cmd, timeout_s)
    wall_s = time.monotonic() - start
    return out, err, wall_s, proc


def communicate(proc, cmd, timeout_s):
    """Waits for proc, started from cmd with piped output (killed after timeout_s).  Returns
    (stdout text, stderr text)."""
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=30)
        raise HarnessError("%s did not finish within %.0fs" % (cmd[0:4], timeout_s))
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class ChildCpu:
    """CPU seconds of the children reaped between enter and exit (the RUSAGE_CHILDREN difference:
    the harness runs one client at a time, so that is the client's CPU)."""

    def __enter__(self):
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.start = usage.ru_utime + usage.ru_stime
        self.cpu_s = None
        return self

    def __exit__(self, *exc):
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_s = usage.ru_utime + usage.ru_stime - self.start
        return False


class Perf:
    """Runs sluice-perf commands pinned to `cpu` and returns their JSON."""

    def __init__(self, binary, cpu, log):
        self.binary = binary
        self.cpu = cpu
        self.log = log

    def command_line(self, command, options, cpu="default"):
        cmd = [self.binary, command]
        for key, value in options.items():
            cmd += ["--" + key, str(value)]
        return pinned(self.cpu if cpu == "default" else cpu, cmd)

    @staticmethod
    def result(command, proc, out, err):
        """The JSON a finished sluice-perf `command` printed last; HarnessError when it failed."""
        if proc.returncode != 0:
            raise HarnessError("sluice-perf %s exited with %d: %s" % (command, proc.returncode, err.strip()[-2000:]))
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise HarnessError("sluice-perf %s printed no JSON: %r" % (command, out[-500:]))

    def run(self, command, options, timeout_s=600, cpu="default"):
        cmd = self.command_line(command, options, cpu)
        self.log("  $ " + " ".join(cmd))
        out, err, _wall_s, proc = run_measured(cmd, timeout_s)
        return Perf.result(command, proc, out, err)


_live_helpers = []


class Background:
    """A sluice-perf command running alongside others (started now, unpinned: the command pins its
    own threads); result() waits for it and returns its JSON."""

    def __init__(self, perf, command, options):
        self.command = command
        self.cmd = perf.command_line(command, options, cpu=None)
        perf.log("  $ " + " ".join(self.cmd) + " &")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _live_helpers.append(self.proc)

    def result(self, timeout_s):
        try:
            out, err = communicate(self.proc, self.cmd, timeout_s)
        finally:
            _live_helpers.remove(self.proc)
        return Perf.result(self.command, self.proc, out, err)


@atexit.register
def _kill_helpers():
    for proc in list(_live_helpers):
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


class IdleConnections:
    """A sluice-perf idle-connections process: opens the connections, reports ready, holds them
    until close()."""

    def __init__(self, perf, server, count, protocol, timeout_s=300):
        cmd = pinned(perf.cpu, [perf.binary, "idle-connections", "--server", server, "--count", str(count),
                                "--protocol", protocol, "--hold-s", str(timeout_s)])
        perf.log("  $ " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _live_helpers.append(self.proc)
        line = self.proc.stdout.readline().decode()
        if not line:
            err = self.proc.stderr.read().decode()
            self.close()
            raise HarnessError("idle-connections failed: %s" % err.strip()[-1000:])
        self.ready = json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if self.proc in _live_helpers:
            _live_helpers.remove(self.proc)


class PinnedBroker(benchlib.BenchBroker):
    """A BenchBroker whose process runs under taskset (taskset execs the broker, so the PID is the
    broker's own)."""

    def __init__(self, binary, workdir, data_dir, port, overrides, cpu):
        super().__init__(binary, workdir, data_dir, port, overrides)
        self.cpu = cpu

    def command(self):
        return pinned(self.cpu, super().command())

    @property
    def pid(self):
        return self.proc.pid

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port


def settle_rss(pid, seconds=1.0, samples=5):
    """The broker's RSS after a short wait (the last of a few samples, in KiB)."""
    value = None
    for _ in range(samples):
        time.sleep(seconds / samples)
        value = proc_rss_kib(pid)
    return value


class CpuProfile:
    """Samples a process with `perf record -e cpu-clock -g` while the `with` block runs (hardware
    counters are not available on every VM; cpu-clock is).  On exit writes `<prefix>.data`,
    `text_path` (the top symbols) and fills `summary`: the share of samples per binary (kernel,
    sluice, libc, ...) and the top symbols.  Needs perf on PATH and the right to trace the process
    (root, or perf_event_paranoid <= 1)."""

    def __init__(self, pid, prefix, text_path, frequency=999):
        self.pid, self.prefix, self.text_path, self.frequency = pid, prefix, text_path, frequency
        self.summary = {}
        self.proc = None

    def __enter__(self):
        if shutil.which("perf") is None:
            raise RuntimeError("perf is not installed (apt-get install linux-perf)")
        self.proc = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", str(self.frequency), "-g",
                                      "-p", str(self.pid), "-o", self.prefix + ".data"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # perf attaches before the load starts
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.summary = {"by_binary": self._report("dso"), "top_symbols": self._report("dso,sym")[:15]}
        with open(self.text_path, "w") as out:
            for row in self.summary["top_symbols"]:
                out.write("%6.2f%%  %s\n" % (row["percent"], row["name"]))
        return False

    def _report(self, sort):
        out = subprocess.run(["perf", "report", "-i", self.prefix + ".data", "--no-children", "--sort", sort,
                              "--stdio", "-g", "none", "--percent-limit", "0.5"],
                             capture_output=True, text=True, timeout=300)
        rows = []
        for line in out.stdout.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "%" not in line:
                continue
            share, _, name = line.partition("%")
            try:
                rows.append({"percent": float(share), "name": " ".join(name.split())})
            except ValueError:
                continue
        return rows

    def describe(self):
        return ", ".join("%s %.1f%%" % (row["name"], row["percent"]) for row in self.summary.get("by_binary", [])[:4])

