#!/usr/bin/python3
"""Durable-mode produce latency against the device's raw fdatasync latency, in one run, on the
filesystem of the log dir (a benchmark: it measures and reports, it asserts nothing about time).

Method:
  1. Baseline, before and after the broker runs: in a file in the log dir's filesystem, append
     writes of exactly the size of one produced batch and fdatasync after each; each sample is one
     write+fdatasync.  Two patterns: "append" grows the file inside blocks reserved with
     fallocate(FALLOC_FL_KEEP_SIZE), as the broker's active segment does (the size change makes
     fdatasync commit metadata too); "overwrite" rewrites blocks that already exist and are synced
     (the device's flush alone, a floor).
  2. For each flush.mode (durable, async): start sluice with --override flush.mode=<mode>, create
     one topic per value size, then run two scenarios per size for --duration seconds each:
       serial:     one producer process, acks=all, linger.ms=0, max.in.flight=1, and produce +
                   flush per message, so exactly one request is in flight;
       concurrent: --concurrency such processes at once, each with its own Producer and
                   connection, all on the same partition (one log, so one fdatasync can serve
                   every waiting request: group commit) unless --spread.
     Latency is produce() to the end of flush() as the client sees it.
  3. Report percentiles (ms), durable/fdatasync ratios, the produce rate next to 1/fdatasync, the
     clients' CPU time against wall time (a client at one full core would be the bottleneck), the
     broker's CPU time and how busy the whole machine was.

The broker's mode is taken from its stderr: lines naming flush.mode (a "config_unknown_key
key=flush.mode" warning means this build does not know the key and behaves as async).

Output: a table on stdout and JSON at --out.  Python: /usr/bin/python3 (confluent-kafka).
"""

import argparse
import ctypes
import ctypes.util
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

RECORD_BATCH_HEADER_BYTES = 61
FALLOC_FL_KEEP_SIZE = 1


# ---------------------------------------------------------------------------------------------
# Sizes.

def varint_bytes(value):
    """Bytes of a zigzag varint (Kafka's record fields)."""
    zigzag = (value << 1) ^ (value >> 63)
    count = 1
    while zigzag >= 0x80:
        zigzag >>= 7
        count += 1
    return count


def record_batch_bytes(value_bytes):
    """Bytes of a v2 record batch holding one record with a null key, `value_bytes` of value and no
    headers, uncompressed: what one serial produce appends to the log."""
    body = 1 + varint_bytes(0) + varint_bytes(0) + varint_bytes(-1) + varint_bytes(value_bytes) + value_bytes + varint_bytes(0)
    return RECORD_BATCH_HEADER_BYTES + varint_bytes(body) + body


# ---------------------------------------------------------------------------------------------
# Baseline: write + fdatasync in the log dir's filesystem.

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]


def fdatasync_samples(directory, write_bytes, samples, pattern):
    """`samples` latencies (ns) of one write of `write_bytes` followed by fdatasync."""
    path = os.path.join(directory, "fdatasync-baseline-%d-%s.bin" % (write_bytes, pattern))
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
    try:
        total = write_bytes * samples
        if pattern == "append":
            if _libc.fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, total) != 0:
                pass  # no fallocate on this filesystem: plain appends, as the broker would do too
        else:
            os.write(fd, b"\0" * total)
            os.fsync(fd)
            os.lseek(fd, 0, os.SEEK_SET)
        buffer = os.urandom(write_bytes)
        latencies = []
        clock = time.perf_counter_ns
        for _ in range(samples):
            t0 = clock()
            os.write(fd, buffer)
            os.fdatasync(fd)
            latencies.append(clock() - t0)
        return latencies
    finally:
        os.close(fd)
        os.unlink(path)


def python_overhead_ns(write_bytes, samples=2000):
    """Median cost of the timing loop without the fdatasync (a write to /dev/null): what Python adds."""
    fd = os.open("/dev/null", os.O_WRONLY)
    buffer, clock, latencies = os.urandom(write_bytes), time.perf_counter_ns, []
    try:
        for _ in range(samples):
            t0 = clock()
            os.write(fd, buffer)
            latencies.append(clock() - t0)
    finally:
        os.close(fd)
    return sorted(latencies)[len(latencies) // 2]


# ---------------------------------------------------------------------------------------------
# Producer worker (a separate process per producer: its own Producer, connection and GIL).

def confluent_client(spec):
    """One produce + flush per call through confluent-kafka (librdkafka): exactly one request in flight."""
    from confluent_kafka import KafkaException, Producer
    producer = Producer({
        "bootstrap.servers": spec["bootstrap"],
        "acks": "all",
        "linger.ms": 0,
        "max.in.flight.requests.per.connection": 1,
        "enable.idempotence": False,
        "compression.type": "none",
        "socket.nagle.disable": True,
        "retries": 0,
    })
    errors = []

    def on_delivery(error, message):
        if error is not None:
            errors.append(str(error))

    value = os.urandom(spec["value_bytes"])
    topic, partition = spec["topic"], spec["partition"]

    def one():
        producer.produce(topic, value, partition=partition, on_delivery=on_delivery)
        if producer.flush(30) != 0:
            raise KafkaException("message not delivered within 30 s")

    return one, errors


# The raw client: a Produce v3 request around one record batch built once (the broker assigns
# offsets, so the same non-idempotent batch can be sent again and again), written to a blocking
# socket, then the response read back.  No client threads, no queues: a floor for the client side.

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _varint(value):
    zigzag = (value << 1) ^ (value >> 63)
    out = bytearray()
    while zigzag >= 0x80:
        out.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    out.append(zigzag)
    return bytes(out)


def build_record_batch(value):
    """A v2 record batch of one record (null key, no headers), uncompressed, producer id -1."""
    import struct
    body = b"\x00" + _varint(0) + _varint(0) + _varint(-1) + _varint(len(value)) + value + _varint(0)
    record = _varint(len(body)) + body
    now_ms = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", 0, 0, now_ms, now_ms, -1, -1, -1, 1) + record
    crc = crc32c(after_crc)
    batch_length = 4 + 1 + 4 + len(after_crc)  # leader epoch, magic, crc, the rest
    batch = struct.pack(">qiibI", 0, batch_length, -1, 2, crc) + after_crc
    assert len(batch) == record_batch_bytes(len(value)), (len(batch), record_batch_bytes(len(value)))
    return batch


def raw_client(spec):
    import socket
    import struct
    host, port = spec["bootstrap"].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    topic = spec["topic"].encode()
    batch = build_record_batch(os.urandom(spec["value_bytes"]))
    client_id = b"durability-bench-raw"
    body = (struct.pack(">hhi", -1, -1, 30000) + struct.pack(">ih", 1, len(topic)) + topic
            + struct.pack(">iii", 1, spec["partition"], len(batch)) + batch)
    errors = []
    state = {"correlation_id": 0}

    def read_exact(count):
        data = bytearray()
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return bytes(data)

    def one():
        state["correlation_id"] += 1
        header = struct.pack(">hhih", 0, 3, state["correlation_id"], len(client_id)) + client_id
        sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        (size,) = struct.unpack(">i", read_exact(4))
        response = read_exact(size)
        correlation_id, _topics, name_bytes = struct.unpack(">iih", response[:10])
        offset = 10 + name_bytes
        _partitions, _index, error_code = struct.unpack(">iih", response[offset:offset + 10])
        if correlation_id != state["correlation_id"] or error_code != 0:
            errors.append("correlation id %d, error code %d" % (correlation_id, error_code))

    return one, errors


def worker_main(spec):
    one, errors = (raw_client if spec["client"] == "raw" else confluent_client)(spec)
    for _ in range(spec["warmup"]):
        one()
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    if sys.stdin.readline().strip() != "GO":
        return
    latencies = []
    clock = time.perf_counter_ns
    cpu0, t0 = time.process_time(), time.monotonic()
    end = t0 + spec["duration_s"]
    while True:
        start = clock()
        one()
        latencies.append(clock() - start)
        if time.monotonic() >= end:
            break
    wall_s, cpu_s = time.monotonic() - t0, time.process_time() - cpu0
    sys.stdout.write(json.dumps({"latencies_ns": latencies, "wall_s": wall_s, "cpu_s": cpu_s,
                                 "errors": len(errors), "first_error": errors[0] if errors else None}) + "\n")
    sys.stdout.flush()


def machine_cpu_jiffies():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def run_scenario(broker, client, topic, value_bytes, producers, duration_s, spread, warmup):
    """Runs `producers` worker processes at once; returns their merged latencies and the rates."""
    workers = []
    try:
        for i in range(producers):
            spec = {"bootstrap": "127.0.0.1:%d" % broker.port, "client": client, "topic": topic,
                    "value_bytes": value_bytes,
                    "partition": i if spread else 0, "duration_s": duration_s, "warmup": warmup}
            workers.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for w in workers:
            if not _readline(w, 60).startswith("READY"):
                raise RuntimeError("a producer worker did not get ready (exit %s)" % w.poll())
        broker_cpu0, (busy0, total0) = broker.cpu_s(), machine_cpu_jiffies()
        for w in workers:
            w.stdin.write("GO\n")
            w.stdin.flush()
        results = [json.loads(_readline(w, duration_s + 60)) for w in workers]
        broker_cpu_s, (busy1, total1) = broker.cpu_s() - broker_cpu0, machine_cpu_jiffies()
        for w in workers:
            w.wait(timeout=30)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait(timeout=10)
    latencies = [ns for r in results for ns in r["latencies_ns"]]
    wall_s = max(r["wall_s"] for r in results)
    client_cpu_s = sum(r["cpu_s"] for r in results)
    result = {
        "client": client, "producers": producers, "value_bytes": value_bytes, "batch_bytes": record_batch_bytes(value_bytes),
        "partitions_used": producers if spread else 1,
        "latency": benchlib.latency_summary_ms(latencies),
        "requests": len(latencies), "wall_s": wall_s, "requests_per_s": len(latencies) / wall_s,
        "errors": sum(r["errors"] for r in results),
        "first_error": next((r["first_error"] for r in results if r["first_error"]), None),
        "client_cpu_s": client_cpu_s,
        "client_cpu_cores": client_cpu_s / wall_s,
        "client_cpu_cores_max_one_process": max(r["cpu_s"] / r["wall_s"] for r in results),
        "client_cpu_us_per_request": client_cpu_s / len(latencies) * 1e6,
        "broker_cpu_cores": broker_cpu_s / wall_s,
        "machine_busy_fraction": (busy1 - busy0) / max(1, total1 - total0),
        "loadavg_1min_after": os.getloadavg()[0],
    }
    # CPU that neither the clients nor the broker used: other work on the host, competing with both.
    busy_cores = result["machine_busy_fraction"] * (os.cpu_count() or 1)
    result["other_cpu_cores"] = max(0.0, busy_cores - result["client_cpu_cores"] - result["broker_cpu_cores"])
    return result


def _readline(proc, timeout_s):
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    if not ready:
        raise RuntimeError("producer worker %d silent for %.0fs" % (proc.pid, timeout_s))
    return proc.stdout.readline()


# ---------------------------------------------------------------------------------------------
# The run.

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=benchlib.DEFAULT_BINARY, help="sluice binary (default %(default)s)")
    p.add_argument("--sizes", default="1024,16384", help="record value sizes in bytes, comma separated")
    p.add_argument("--modes", default="durable,async", help="flush.mode values to run, comma separated")
    p.add_argument("--duration", type=float, default=3.0, help="seconds per scenario")
    p.add_argument("--concurrency", type=int, default=4, help="producers in the concurrent scenario")
    p.add_argument("--clients", default="confluent",
                   help="producer clients, comma separated: confluent (confluent-kafka, produce+flush per message) "
                        "and/or raw (Produce v3 over a plain socket, no client threads)")
    p.add_argument("--spread", action="store_true", help="concurrent producers each on their own partition")
    p.add_argument("--fsync-samples", type=int, default=1000, help="write+fdatasync samples per baseline")
    p.add_argument("--warmup", type=int, default=50, help="unmeasured messages per producer first")
    p.add_argument("--override", action="append", default=[], metavar="KEY=VALUE", help="extra broker setting")
    p.add_argument("--tmp", default=None, help="parent of the fresh temporary directory (default: system temp)")
    p.add_argument("--keep", action="store_true", help="keep the data directories and stderr logs")
    p.add_argument("--out", default=None, help="JSON result path (default /tmp/sluice-fsync-<time>.json)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args()


def baseline(directory, sizes, samples, patterns):
    out = {}
    for value_bytes in sizes:
        write_bytes = record_batch_bytes(value_bytes)
        for pattern in patterns:
            latencies = fdatasync_samples(directory, write_bytes, samples, pattern)
            out["%s/%d" % (pattern, write_bytes)] = {"pattern": pattern, "write_bytes": write_bytes,
                                                    "latencies_ns": latencies}
    return out


def broker_mode_report(broker):
    lines = [l for l in broker.lines_with("flush") if "flush.mode" in l or "flush_mode" in l]
    unknown = any("config_unknown_key" in l for l in lines)
    return {"lines": lines, "key_unknown_to_broker": unknown}


def scenario_name(mode, sc):
    return "%s %s x%d %d B" % (mode["mode"], sc["client"], sc["producers"], sc["value_bytes"])


def run_mode(mode, args, workdir, sizes, overrides):
    data_dir = os.path.join(workdir, "data-%s" % mode)
    os.makedirs(data_dir)
    broker_overrides = dict(overrides)
    broker_overrides["flush.mode"] = mode
    broker = benchlib.BenchBroker(os.path.abspath(args.binary), workdir, data_dir, benchlib.free_port(),
                                  broker_overrides)
    broker.stderr_path = os.path.join(workdir, "stderr-%s.log" % mode)
    result = {"mode": mode, "scenarios": []}
    try:
        broker.start()
        result["broker_reported"] = broker_mode_report(broker)
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": "127.0.0.1:%d" % broker.port})
        topics = {size: "latency-%d" % size for size in sizes}
        futures = admin.create_topics([NewTopic(t, num_partitions=max(1, args.concurrency), replication_factor=1)
                                       for t in topics.values()], operation_timeout=30)
        for future in futures.values():
            future.result(timeout=60)
        for client in args.clients.split(","):
            for size in sizes:
                for producers in (1, args.concurrency):
                    scenario = run_scenario(broker, client, topics[size], size, producers, args.duration, args.spread,
                                            args.warmup)
                    scenario["mode"] = mode
                    result["scenarios"].append(scenario)
                    lat = scenario["latency"]
                    print("%-7s %-9s %6d B x%d: p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms, %.0f req/s, client %.2f cores"
                          % (mode, client, size, producers, lat["p50_ms"], lat["p99_ms"], lat["p999_ms"],
                             lat["max_ms"], scenario["requests_per_s"], scenario["client_cpu_cores"]), flush=True)
        result["stop"] = broker.stop(signal.SIGTERM)
    finally:
        broker.kill_quietly()
    return result


def main():
    args = parse_args()
    if args.worker:
        return worker_main(json.loads(args.worker))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    overrides = {}
    for item in args.override:
        key, _, value = item.partition("=")
        overrides[key] = value
    out = args.out or "/tmp/sluice-fsync-%s.json" % time.strftime("%Y%m%d-%H%M%S")
    workdir = tempfile.mkdtemp(prefix="sluice-fsync-", dir=args.tmp)
    result = {"benchmark": "fsync_latency",
              "environment": benchlib.describe_environment(os.path.abspath(args.binary), workdir),
              "parameters": {k: v for k, v in vars(args).items() if k not in ("out", "worker")}}
    t_bench = time.monotonic()
    try:
        print("broker %s (commit %s), log dirs under %s" % (os.path.abspath(args.binary),
                                                            result["environment"]["broker_commit"], workdir))
        result["python_timing_overhead_ns"] = python_overhead_ns(record_batch_bytes(sizes[0]))
        print("fdatasync baseline (before) ...", flush=True)
        before = baseline(workdir, sizes, args.fsync_samples, ("append", "overwrite"))
        result["modes"] = [run_mode(mode, args, workdir, sizes, overrides) for mode in modes]
        print("fdatasync baseline (after) ...", flush=True)
        after = baseline(workdir, sizes, args.fsync_samples, ("append",))
    finally:
        result["bench_wall_s"] = time.monotonic() - t_bench
        if args.keep:
            print("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    # The fdatasync reference of each size: the "append" samples before and after, together.
    fsync = {}
    for key, entry in before.items():
        samples = entry["latencies_ns"] + (after[key]["latencies_ns"] if key in after else [])
        fsync[key] = {"pattern": entry["pattern"], "write_bytes": entry["write_bytes"],
                      "all": benchlib.latency_summary_ms(samples),
                      "before": benchlib.latency_summary_ms(entry["latencies_ns"]),
                      "after": benchlib.latency_summary_ms(after[key]["latencies_ns"]) if key in after else None}
    result["fdatasync"] = fsync

    rows = []
    for key, entry in fsync.items():
        s = entry["all"]
        rows.append(["fdatasync %s" % entry["pattern"], entry["write_bytes"], "-", s["count"], "%.3f" % s["p50_ms"],
                     "%.3f" % s["p99_ms"], "%.3f" % s["p999_ms"], "%.3f" % s["max_ms"], "%.0f" % (1000 / s["p50_ms"]),
                     "-", "-", "-"])
    for mode in result["modes"]:
        for sc in mode["scenarios"]:
            ref = fsync["append/%d" % sc["batch_bytes"]]["all"]
            lat = sc["latency"]
            sc["vs_fdatasync"] = {
                "p50_ratio": lat["p50_ms"] / ref["p50_ms"], "p99_ratio": lat["p99_ms"] / ref["p99_ms"],
                "p999_ratio": lat["p999_ms"] / ref["p999_ms"],
                "fdatasync_rate_per_s": 1000 / ref["p50_ms"],
                # Requests served per device sync if the broker syncs back to back at the baseline
                # p50: above 1 means one fdatasync answered several requests (group commit).
                "requests_per_fdatasync_p50": sc["requests_per_s"] * ref["p50_ms"] / 1000,
            }
            label = "%s x%d" % (mode["mode"], sc["producers"]) + ("" if sc["client"] == "confluent" else " " + sc["client"])
            rows.append([label, sc["batch_bytes"], sc["producers"],
                         lat["count"], "%.3f" % lat["p50_ms"], "%.3f" % lat["p99_ms"], "%.3f" % lat["p999_ms"],
                         "%.3f" % lat["max_ms"], "%.0f" % sc["requests_per_s"],
                         "%.2f" % sc["vs_fdatasync"]["p50_ratio"],
                         "%.2f" % sc["vs_fdatasync"]["requests_per_fdatasync_p50"] if mode["mode"] == "durable" else "-",
                         "%.2f/%.2f/%.2f" % (sc["client_cpu_cores"], sc["broker_cpu_cores"], sc["other_cpu_cores"])])
    result["notes"] = notes(result)
    with open(out, "w") as f:
        json.dump(result, f, indent=2, default=str)

    env = result["environment"]
    mount = env["findmnt"].splitlines()[-1].split() if env["findmnt"] else ["?", "?", "?"]
    print()
    print("Produce latency (acks=all, one request in flight per producer) vs write+fdatasync of one batch;")
    print("log dir on %s %s, %s CPUs; Python adds %d ns per timed sample"
          % (mount[2], mount[1], env["cpus"], result["python_timing_overhead_ns"]))
    print(benchlib.table(["what", "bytes", "prod", "n", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "per s",
                          "p50/fsync", "req/fsync", "cores cl/br/other"], rows))
    print("per s: requests (or fdatasyncs at p50) per second; req/fsync: rate x fdatasync p50 (> 1: group commit);")
    print("cores: CPU used by the producer processes / the broker / anything else on the host (of %s)"
          % env["cpus"])
    for mode in result["modes"]:
        reported = mode.get("broker_reported", {})
        print("flush.mode=%s: broker said: %s" % (mode["mode"], "; ".join(reported.get("lines", [])) or
                                                 "nothing naming flush.mode (no unknown-key warning either: "
                                                 "the key was accepted)"))
    for note in result["notes"]:
        print("note: %s" % note)
    print("JSON: %s" % out)


def notes(result):
    """Plain-language warnings about what the figures can and cannot show."""
    out, busy = [], []
    for mode in result["modes"]:
        if mode.get("broker_reported", {}).get("key_unknown_to_broker"):
            out.append("this broker does not know flush.mode (it warned and ignored it): the '%s' run "
                       "behaves as the broker's default" % mode["mode"])
        for sc in mode["scenarios"]:
            if sc["errors"]:
                out.append("%s: %d delivery errors (first: %s)" % (scenario_name(mode, sc), sc["errors"],
                                                                  sc["first_error"]))
            if sc["client_cpu_cores_max_one_process"] > 0.8:
                out.append("%s: one producer process used %.0f%% of a core: the client may be the bottleneck"
                           % (scenario_name(mode, sc), 100 * sc["client_cpu_cores_max_one_process"]))
            if sc["other_cpu_cores"] > 0.25:
                busy.append("%s (%.2f cores)" % (scenario_name(mode, sc), sc["other_cpu_cores"]))
            if mode["mode"] == "durable" and sc["producers"] == 1 and sc["vs_fdatasync"]["p50_ratio"] < 0.5:
                out.append("%s: p50 is below half the fdatasync baseline's p50: either most acks did not wait "
                           "for an fdatasync, or the device synced faster during this scenario than during "
                           "the baseline" % scenario_name(mode, sc))
    if busy:
        out.append("other processes used CPU during: %s; their load (and their I/O) colours these figures"
                   % ", ".join(busy))
    return out


if __name__ == "__main__":
    main()
