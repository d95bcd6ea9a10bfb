"""The peers Sluice is compared with, each started by the harness on loopback in a temporary
directory and stopped after (by PID):

  Redis 7 Streams  redis-server with appendonly yes, appendfsync everysec (no RDB snapshots);
                   XADD driven by redis-benchmark (pipelined), XREAD COUNT n by redis-benchmark;
  NATS JetStream   nats-server -js with its store in the temporary directory (file storage);
                   publishes by sluice-perf nats-pub (raw protocol, JetStream acks).

Each driver's CPU share (CPU seconds / wall seconds, from wait4's rusage or the driver's own
report) is returned beside its figures, so the report can say whether the client was the
bottleneck.  redis-benchmark runs a request count, not a duration: a short probe sizes the count
to last about the requested time.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import e2e_lib

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_BENCHMARK = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
XREAD_COUNT = 500


def available():
    return {"redis": all(os.access(p, os.X_OK) for p in (REDIS_SERVER, REDIS_BENCHMARK, REDIS_CLI)),
            "nats": os.access(NATS_SERVER, os.X_OK)}


def _wait_port(port, proc, what, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise e2e_lib.HarnessError("%s exited with %d during start-up" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise e2e_lib.HarnessError("%s not listening on %d after %.0fs" % (what, port, timeout_s))


class Server:
    """One peer server process in its own temporary directory."""

    def __init__(self, name, cmd_for_port, cpu, root, log):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="e2e-%s-" % name, dir=root)
        self.port = benchlib_free_port()
        cmd = e2e_lib.pinned(cpu, cmd_for_port(self.port, self.dir))
        log("  $ " + " ".join(cmd))
        self.log_file = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        e2e_lib._live_helpers.append(self.proc)
        try:
            _wait_port(self.port, self.proc, name)
        except BaseException:
            self.stop()
            raise

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def cpu_s(self):
        return e2e_lib.proc_cpu_s(self.proc.pid)

    def rss_kib(self):
        return e2e_lib.proc_rss_kib(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if self.proc in e2e_lib._live_helpers:
            e2e_lib._live_helpers.remove(self.proc)
        self.log_file.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def benchlib_free_port():
    return e2e_lib.benchlib.free_port()


def redis_server(cpu, root, log, maxclients=10000):
    def cmd(port, directory):
        return [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
                "--protected-mode", "yes", "--maxclients", str(maxclients), "--logfile", ""]
    return Server("redis", cmd, cpu, root, log)


def nats_server(cpu, root, log):
    def cmd(port, directory):
        return [NATS_SERVER, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", os.path.join(directory, "js")]
    return Server("nats", cmd, cpu, root, log)


def _redis_benchmark(server, client_cpu, requests, args, log, clients=8, pipeline=32):
    cmd = e2e_lib.pinned(client_cpu, [REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(server.port), "-c", str(clients),
                                      "-P", str(pipeline), "-n", str(requests), "--csv"] + args)
    log("  $ " + " ".join(c if len(c) < 40 else c[:20] + "...(%d bytes)" % len(c) for c in cmd))
    server_cpu_start = server.cpu_s()
    with e2e_lib.ChildCpu() as child:
        out, err, wall_s, proc = e2e_lib.run_measured(cmd, timeout_s=600)
    server_cpu_s = server.cpu_s() - server_cpu_start
    if proc.returncode != 0:
        raise e2e_lib.HarnessError("redis-benchmark exited with %d: %s" % (proc.returncode, err.strip()[-500:]))
    rps = None
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 2 and cells[0] != "test":
            try:
                rps = float(cells[1])
            except ValueError:
                pass
    if rps is None:
        raise e2e_lib.HarnessError("redis-benchmark printed no rate: %r" % out[-500:])
    return {"requests": requests, "requests_per_s": rps, "wall_s": wall_s,
            "client_cpu_share": child.cpu_s / wall_s if wall_s > 0 else None,
            "server_cpu_share": server_cpu_s / wall_s if wall_s > 0 else None}


def _sized_run(server, client_cpu, args, duration_s, log, probe_requests=5000, **kw):
    """A probe of `probe_requests`, then a run sized to about duration_s."""
    probe = _redis_benchmark(server, client_cpu, probe_requests, args, log, **kw)
    requests = int(max(probe_requests, min(50_000_000, probe["requests_per_s"] * duration_s)))
    return _redis_benchmark(server, client_cpu, requests, args, log, **kw)


def stream_length(server):
    """XLEN s, through redis-cli."""
    out = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(server.port), "XLEN", "s"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=30, check=True).stdout.decode().strip()
    return int(out)


def redis_xadd_and_xread(record_bytes, duration_s, server_cpu, client_cpu, root, log, xread=True):
    """XADD of one field with a record_bytes value, then (optionally) XREAD COUNT n from the start
    of the stream that XADD filled.  Records/s: XADD requests/s; XREAD requests/s times n."""
    server = redis_server(server_cpu, root, log)
    try:
        value = ("v" * record_bytes)
        xadd = _sized_run(server, client_cpu, ["XADD", "s", "*", "f", value], duration_s, log)
        xadd["records_per_s"] = xadd["requests_per_s"]
        xadd["mb_per_s"] = xadd["requests_per_s"] * record_bytes / 1e6
        result = {"record_bytes": record_bytes, "xadd": xadd, "server_rss_kib": server.rss_kib()}
        if xread:
                # Each answer carries up to XREAD_COUNT entries: a small probe, a lower pipeline depth.
            length = stream_length(server)
            read = _sized_run(server, client_cpu, ["XREAD", "COUNT", str(XREAD_COUNT), "STREAMS", "s", "0"],
                              duration_s, log, probe_requests=100, clients=4, pipeline=4)
            read["count"] = min(XREAD_COUNT, length)
            read["stream_length"] = length
            read["records_per_s"] = read["requests_per_s"] * read["count"]
            read["mb_per_s"] = read["records_per_s"] * record_bytes / 1e6
            result["xread"] = read
        return result
    finally:
        server.stop()


def nats_publish(perf, record_bytes, duration_s, warmup_s, server_cpu, root, log, window=256):
    server = nats_server(server_cpu, root, log)
    try:
        cpu_start = server.cpu_s()
        t0 = time.monotonic()
        result = perf.run("nats-pub", {"server": server.address, "stream": "perf", "record-bytes": record_bytes,
                                       "window": window, "warmup-s": warmup_s, "duration-s": duration_s})
        wall_s = time.monotonic() - t0
        result["server_cpu_share"] = (server.cpu_s() - cpu_start) / wall_s
        return result
    finally:
        server.stop()


def idle_rss_per_connection(perf, kind, count, server_cpu, root, log):
    """RSS growth per idle connection of a peer server, KiB."""
    server = redis_server(server_cpu, root, log, maxclients=count + 100) if kind == "redis" \
        else nats_server(server_cpu, root, log)
    try:
        before = e2e_lib.settle_rss(server.proc.pid)
        idle = e2e_lib.IdleConnections(perf, server.address, count, kind)
        try:
            after = e2e_lib.settle_rss(server.proc.pid)
        finally:
            idle.close()
        return {"connections": count, "rss_before_kib": before, "rss_after_kib": after,
                "kib_per_connection": (after - before) / count}
    finally:
        server.stop()
