#!/usr/bin/python3
"""Recovery time of the broker holding 1,000 partitions (a benchmark: it measures and reports,
it asserts nothing about time).

Method:
  1. Start sluice on a free loopback port with a fresh data directory; create one topic with
     --partitions partitions (CreateTopics through confluent_kafka's AdminClient); produce
     --bytes-per-partition to every partition in batches of about --batch-bytes (confluent-kafka,
     linger, partition by partition so every batch leaves full).
  2. Stop it with SIGTERM once (this first stop writes back the freshly produced data, so it is
     reported apart), then read every .log file to count what is on disk.
  3. Clean restarts, --clean-runs times: start, measure, SIGTERM, measure the stop.
  4. Unclean restarts, --unclean-runs times: SIGKILL the serving broker, start, measure.  The
     clean-shutdown marker is gone, so the broker scans every log from its recovery point.

"Start" is measured from just before exec to (a) the arrival of the broker's "event=ready" stderr
line and (b) its first answer to an ApiVersions request on its port (the listener only opens
after every log is loaded, so (b) is when clients can be served).  The page cache is warm unless
--drop-caches is given (root only: writes 1 to /proc/sys/vm/drop_caches before each start, which
also slows anything else running on the host for a moment).

Output: a table on stdout and JSON at --out.  Python: /usr/bin/python3 (confluent-kafka).
"""

import argparse
import json
import os
import shutil
import signal
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

TOPIC = "recovery-bench"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=benchlib.DEFAULT_BINARY, help="sluice binary (default %(default)s)")
    p.add_argument("--partitions", type=int, default=1000)
    p.add_argument("--bytes-per-partition", type=int, default=1 << 20, help="payload bytes produced to each partition")
    p.add_argument("--batch-bytes", type=int, default=256 << 10, help="producer batch.size (about the on-disk batch size)")
    p.add_argument("--message-bytes", type=int, default=1024, help="value size of each record")
    p.add_argument("--clean-runs", type=int, default=3)
    p.add_argument("--unclean-runs", type=int, default=1)
    p.add_argument("--drop-caches", action="store_true", help="drop the page cache before each start (root)")
    p.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                   help="extra broker setting, repeatable (e.g. num.io.threads=4)")
    p.add_argument("--tmp", default=None, help="parent of the fresh temporary directory (default: system temp)")
    p.add_argument("--keep", action="store_true", help="keep the data directory and stderr log")
    p.add_argument("--out", default=None, help="JSON result path (default /tmp/sluice-recovery-<time>.json)")
    return p.parse_args()


# ---------------------------------------------------------------------------------------------
# Loading data.

def create_topic(bootstrap, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(TOPIC, num_partitions=partitions, replication_factor=1)],
                                  operation_timeout=60, request_timeout=60)
    futures[TOPIC].result(timeout=120)
    deadline = time.monotonic() + 60
    while True:
        metadata = admin.list_topics(topic=TOPIC, timeout=10)
        topic = metadata.topics.get(TOPIC)
        if topic is not None and topic.error is None and len(topic.partitions) == partitions \
                and all(p.leader >= 0 for p in topic.partitions.values()):
            return
        if time.monotonic() > deadline:
            raise benchlib.BrokerError("topic %s not ready with %d partitions" % (TOPIC, partitions))
        time.sleep(0.2)


def produce(bootstrap, partitions, bytes_per_partition, batch_bytes, message_bytes):
    """Produces to every partition in turn; returns counts, the wall time and the client CPU time."""
    from confluent_kafka import Producer
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "linger.ms": 50,
        "batch.size": batch_bytes,
        "compression.type": "none",
        "queue.buffering.max.messages": 2_000_000,
        "queue.buffering.max.kbytes": 1 << 20,
    })
    delivered = {"messages": 0, "bytes": 0, "errors": 0, "first_error": None}

    def on_delivery(error, message):
        if error is not None:
            delivered["errors"] += 1
            delivered["first_error"] = delivered["first_error"] or str(error)
        else:
            delivered["messages"] += 1
            delivered["bytes"] += len(message.value())

    value = os.urandom(message_bytes)
    per_partition = max(1, bytes_per_partition // message_bytes)
    cpu0, t0 = time.process_time(), time.monotonic()
    for partition in range(partitions):
        for _ in range(per_partition):
            while True:
                try:
                    producer.produce(TOPIC, value, partition=partition, on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.01)
        producer.poll(0)
    remaining = producer.flush(300)
    wall_s, cpu_s = time.monotonic() - t0, time.process_time() - cpu0
    if remaining or delivered["errors"]:
        raise benchlib.BrokerError("produce failed: %d undelivered, %d errors (first: %s)"
                                   % (remaining, delivered["errors"], delivered["first_error"]))
    return {"messages": delivered["messages"], "payload_bytes": delivered["bytes"],
            "messages_per_partition": per_partition, "wall_s": wall_s, "client_cpu_s": cpu_s,
            "mb_per_s": delivered["bytes"] / wall_s / 1e6}


def scan_data_dir(data_dir):
    """Counts the batches and bytes in every .log file of the topic by walking the batch headers
    (base offset 8 bytes, length 4 bytes, then `length` bytes)."""
    batches_per_partition, log_bytes, index_files = [], 0, 0
    for name in os.listdir(data_dir):
        if not name.startswith(TOPIC + "-"):
            continue
        directory = os.path.join(data_dir, name)
        count = 0
        for file_name in os.listdir(directory):
            path = os.path.join(directory, file_name)
            if file_name.endswith((".index", ".timeindex")):
                index_files += 1
            if not file_name.endswith(".log"):
                continue
            size = os.path.getsize(path)
            log_bytes += size
            with open(path, "rb") as f:
                position = 0
                while position + 12 <= size:
                    f.seek(position + 8)
                    (length,) = struct.unpack(">i", f.read(4))
                    position += 12 + length
                    count += 1
        batches_per_partition.append(count)
    return {"partition_dirs": len(batches_per_partition), "log_bytes": log_bytes, "index_files": index_files,
            "batches": sum(batches_per_partition), "batches_per_partition": benchlib.summarize(batches_per_partition)}


# ---------------------------------------------------------------------------------------------
# Restarts.

def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("1\n")


def timed_start(broker, args):
    if args.drop_caches:
        drop_caches()
    started = broker.start(timeout_s=300)
    opened = broker.first_line_with("event=log_dir_open")
    # Phases from the stderr lines' arrival: process start-up until the log dir is opened, then
    # loading every log (the last "topic_loaded" line), then the rest (threads, listener).
    loaded = broker.last_line_with("event=topic_loaded")
    started["log_dir_open_s"] = (opened[0] - broker.t_exec) if opened else None
    started["logs_loaded_s"] = (loaded[0] - broker.t_exec) if loaded else None
    started["clean_shutdown_seen"] = None
    if opened:
        started["clean_shutdown_seen"] = "clean_shutdown=true" in opened[1]
    warnings = [line for line in broker.lines_with("level=warn") if "config_unknown_key" not in line]
    started["warn_lines"] = len(warnings)
    started["recovery_warn_lines"] = len([l for l in warnings if "storage." in l])
    started["first_warn"] = warnings[0] if warnings else None
    return started


def fmt_s(value):
    return "-" if value is None else "%.3f" % value


def summary_rows(label, runs, keys):
    rows = []
    for key in keys:
        s = benchlib.summarize([r[key] for r in runs if r.get(key) is not None])
        if s["count"]:
            rows.append([label, key, s["count"], fmt_s(s["min"]), fmt_s(s["median"]), fmt_s(s["max"])])
    return rows


def main():
    args = parse_args()
    overrides = {}
    for item in args.override:
        key, _, value = item.partition("=")
        overrides[key] = value
    if args.drop_caches and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        sys.exit("--drop-caches needs write access to /proc/sys/vm/drop_caches")
    out = args.out or "/tmp/sluice-recovery-%s.json" % time.strftime("%Y%m%d-%H%M%S")
    workdir = tempfile.mkdtemp(prefix="sluice-recovery-", dir=args.tmp)
    data_dir = os.path.join(workdir, "data")
    os.makedirs(data_dir)
    broker = benchlib.BenchBroker(os.path.abspath(args.binary), workdir, data_dir, benchlib.free_port(), overrides)
    result = {"benchmark": "recovery", "environment": benchlib.describe_environment(broker.binary, data_dir),
              "parameters": {k: v for k, v in vars(args).items() if k not in ("out",)}, "overrides": overrides}
    t_bench = time.monotonic()
    try:
        print("broker %s (commit %s), data in %s" % (broker.binary, result["environment"]["broker_commit"], data_dir))
        first = broker.start()
        result["first_start"] = first
        unknown = broker.lines_with("config_unknown_key")
        if unknown:
            result["broker_unknown_keys"] = unknown
        print("creating %d partitions ..." % args.partitions, flush=True)
        t0 = time.monotonic()
        create_topic("127.0.0.1:%d" % broker.port, args.partitions)
        result["create_topic_s"] = time.monotonic() - t0
        print("producing %d bytes to each partition ..." % args.bytes_per_partition, flush=True)
        result["produce"] = produce("127.0.0.1:%d" % broker.port, args.partitions, args.bytes_per_partition,
                                    args.batch_bytes, args.message_bytes)
        result["fds_loaded"] = len(os.listdir("/proc/%d/fd" % broker.proc.pid))
        result["first_stop_after_produce"] = broker.stop(signal.SIGTERM)
        result["on_disk"] = scan_data_dir(data_dir)
        print("on disk: %(partition_dirs)d partitions, %(batches)d batches, %(log_bytes)d log bytes" % result["on_disk"])

        clean = []
        for i in range(args.clean_runs):
            run = timed_start(broker, args)
            stop = broker.stop(signal.SIGTERM)
            run["stop_s"] = stop["stop_s"]
            run["listener_gone_after_exit_s"] = stop["listener_gone_after_exit_s"]
            run["exit_code"] = stop["exit_code"]
            clean.append(run)
            print("clean   #%d: serving %.3fs (ready line %s s), SIGTERM stop %.3fs, %d fds"
                  % (i + 1, run["serving_s"], fmt_s(run["ready_log_s"]), run["stop_s"], run["fds"]), flush=True)
        result["clean"] = {"runs": clean}

        unclean = []
        if args.unclean_runs:
            timed_start(broker, args)  # serving, then killed: the marker is gone from here on
        for i in range(args.unclean_runs):
            killed = broker.stop(signal.SIGKILL)
            run = timed_start(broker, args)
            run["kill_s"] = killed["stop_s"]
            run["listener_gone_after_kill_s"] = killed["listener_gone_after_exit_s"]
            unclean.append(run)
            print("unclean #%d: serving %.3fs (ready line %s s), %d recovery warnings"
                  % (i + 1, run["serving_s"], fmt_s(run["ready_log_s"]), run["recovery_warn_lines"]), flush=True)
        result["unclean"] = {"runs": unclean}
        if broker.running():
            result["final_stop"] = broker.stop(signal.SIGTERM)
    finally:
        broker.kill_quietly()
        result["bench_wall_s"] = time.monotonic() - t_bench
        if args.keep:
            print("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    for section in ("clean", "unclean"):
        runs = result[section]["runs"]
        result[section]["summary"] = {key: benchlib.summarize([r[key] for r in runs if r.get(key) is not None])
                                      for key in ("serving_s", "ready_log_s", "stop_s", "cpu_s") if any(key in r for r in runs)}
    result["notes"] = notes(result)
    with open(out, "w") as f:
        json.dump(result, f, indent=2, default=str)

    env, prod = result["environment"], result["produce"]
    print()
    print("Recovery of %d partitions, %.0f MB on disk (%d batches), %s on %s (%s CPUs)"
          % (args.partitions, result["on_disk"]["log_bytes"] / 1e6, result["on_disk"]["batches"],
             env["findmnt"].splitlines()[-1].split()[2] if env["findmnt"] else "?",
             env["findmnt"].splitlines()[-1].split()[1] if env["findmnt"] else "?", env["cpus"]))
    print("load: %d messages of %d B in %.1fs (%.0f MB/s); first SIGTERM stop after the load: %.3fs"
          % (prod["messages"], args.message_bytes, prod["wall_s"], prod["mb_per_s"],
             result["first_stop_after_produce"]["stop_s"]))
    rows = summary_rows("clean (SIGTERM)", result["clean"]["runs"], ["serving_s", "ready_log_s", "stop_s", "cpu_s"])
    rows += summary_rows("unclean (SIGKILL)", result["unclean"]["runs"], ["serving_s", "ready_log_s", "cpu_s"])
    print(benchlib.table(["restart", "seconds", "n", "min", "median", "max"], rows))
    print("serving_s: exec to first ApiVersions answer; ready_log_s: exec to the event=ready line;")
    print("stop_s: SIGTERM to exit; cpu_s: broker CPU (user+sys) from exec to serving")
    for note in result["notes"]:
        print("note: %s" % note)
    print("JSON: %s" % out)


def notes(result):
    """Checks that each restart was the kind it claims to be, from the broker's own log_dir_open line."""
    out = []
    for section, expected in (("clean", True), ("unclean", False)):
        wrong = [i + 1 for i, r in enumerate(result[section]["runs"]) if r.get("clean_shutdown_seen") is not expected]
        if wrong:
            out.append("%s runs %s: the broker's log_dir_open line did not say clean_shutdown=%s"
                       % (section, wrong, "true" if expected else "false"))
        failures = [f for r in result[section]["runs"] for f in r.get("probe_failures", [])]
        if failures:
            out.append("%s restarts: %d ApiVersions probes failed other than by refusal (retried), first: %s"
                       % (section, len(failures), failures[0]))
        lingered = [r.get("listener_gone_after_exit_s", r.get("listener_gone_after_kill_s")) or 0
                    for r in result[section]["runs"]]
        if lingered and max(lingered) > 0.005:
            out.append("%s: the old listening socket outlived the process by up to %.3fs (waited out before "
                       "each start)" % (section, max(lingered)))
        warned = [r["first_warn"] for r in result[section]["runs"] if r.get("first_warn")]
        if warned:
            out.append("%s restarts logged %d warning(s), first: %s" % (section, len(warned), warned[0]))
    return out


if __name__ == "__main__":
    main()
