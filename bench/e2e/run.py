#!/usr/bin/python3
"""Sluice's end-to-end throughput harness: one command that measures the broker and divides every
figure by a baseline measured in the same run on the same machine (physical limits and the peers a
user would pick instead), prints the table, writes JSON, plots PNGs and (full mode) regenerates the
table of bench/e2e/README.md.

    /usr/bin/python3 bench/e2e/run.py --mode quick   # < 1 minute, proves the harness works
    /usr/bin/python3 bench/e2e/run.py --mode full    # about 9 minutes, the figures

The broker is pinned to one CPU and every load generator / client to another (taskset), when the
machine has two or more CPUs.  Phases: limits, sluice (produce, consume, durable, e2e), scale
(idle partitions, idle connections, clean restart), peers (Redis, NATS).  A failed phase is
recorded under "errors" and the run goes on; the exit code is 1 when any phase failed.
"""

import argparse
import glob
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_lib  # noqa: E402
from record_sizes import PERF_BATCH_TARGET_BYTES, batch_bytes  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

PROFILES = {
    "quick": {
        "sizes": [100, 1024], "consume_sizes": [1024], "fetch_size": 1024,
        "warmup_s": 0.3, "duration_s": 0.6, "partitions": 4, "producers": 2,
        # Quick mode only proves the path works: a modest rate keeps it robust on a busy machine.
        "e2e_loads": [0.5], "e2e_duration_s": 0.6, "e2e_rate_max": 20000,
        "disk_write_bytes": 64 << 20, "fsync_samples": 100, "fsync_duration_s": 2,
        "sustained_write_s": 1.0, "sustained_write_bytes_max": 32 << 30,
        "tcp_s": 0.3, "rtt_samples": 2000, "file_bytes": 32 << 20,
        "file_call_bytes": [65536, 1048576], "file_s": 0.3, "repeats": 1,
        "scale_partitions": 100, "idle_connections": 100, "peer_duration_s": 0.6,
    },
    "full": {
        "sizes": [100, 1024, 10240], "consume_sizes": [100, 1024], "fetch_size": 1024,
        "warmup_s": 2.0, "duration_s": 10.0, "partitions": 4, "producers": 2,
        "e2e_loads": [0.1, 0.25, 0.5, 0.75, 0.9], "e2e_duration_s": 8.0, "e2e_rate_max": None,
        "disk_write_bytes": 1 << 30, "fsync_samples": 2000, "fsync_duration_s": 10,
        # None: as long as a produce phase (warm-up + measured window), resolved at start.
        "sustained_write_s": None, "sustained_write_bytes_max": 32 << 30,
        "tcp_s": 3.0, "rtt_samples": 50000, "file_bytes": 512 << 20,
        "file_call_bytes": [16384, 65536, 262144, 1048576], "file_s": 2.0, "repeats": 3,
        "scale_partitions": 10000, "idle_connections": 10000, "peer_duration_s": 10.0,
    },
}


def topic_dirs(broker, topic):
    """The partition directories of `topic` in the broker's data dir."""
    return glob.glob(os.path.join(broker.data_dir, "%s-*" % topic))


def catch_up_summary(run):
    """One catch-up read's figures: MB/s, records/s, the broker's CPU seconds and per fetched GB."""
    batch_bytes = run["consume"]["batch_bytes"]
    cpu_s = run["broker"]["cpu_s"]
    return {"mb_per_s": run["consume"]["mb_per_s"], "records_per_s": run["consume"]["records_per_s"],
            "broker_cpu_s": cpu_s, "batch_bytes": batch_bytes,
            "broker_cpu_s_per_gb": cpu_s / (batch_bytes / 1e9) if cpu_s is not None and batch_bytes else None}


class Harness:
    def __init__(self, args):
        self.args = args
        self.profile = dict(PROFILES[args.mode])
        if self.profile["sustained_write_s"] is None:
            self.profile["sustained_write_s"] = self.profile["warmup_s"] + self.profile["duration_s"]
        self.build = e2e_lib.find_build_dir(args.build_dir)
        self.sluice_bin = os.path.join(self.build, "src", "server", "sluice")
        self.perf_bin = os.path.join(self.build, "bench", "e2e", "sluice-perf")
        cpus = os.cpu_count() or 1
        pin = not args.no_pin and cpus >= 2
        self.broker_cpu = args.broker_cpu if pin else None
        self.client_cpu = args.client_cpu if pin else None
        # The full run's results sit beside the README whose table they fill; a quick run's stay
        # in the build directory.
        default_out = os.path.join(HERE, "results", "full") if args.mode == "full" else os.path.join(self.build, "e2e-quick")
        self.out_dir = os.path.abspath(args.out_dir or default_out)
        os.makedirs(self.out_dir, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="sluice-e2e-", dir=args.work_dir)
        self.perf = e2e_lib.Perf(self.perf_bin, self.client_cpu, self.log)
        self.results = {
            "schema": "sluice-e2e/1", "mode": args.mode, "command": " ".join(["bench/e2e/run.py"] + sys.argv[1:]),
            "profile": self.profile, "pinning": {"broker_cpu": self.broker_cpu, "client_cpu": self.client_cpu},
            "binaries": {"sluice": self.sluice_bin, "sluice_perf": self.perf_bin},
            "limits": {}, "sluice": {"produce": {}, "consume": {}, "e2e": {}, "scale": {}},
            "peers": {}, "client_cpu": [], "errors": [], "skipped": [],
        }
        self.results["environment"] = e2e_lib.benchlib.describe_environment(self.sluice_bin, self.work)

    def log(self, text):
        print(text, flush=True)

    def phase(self, name, fn):
        start = time.monotonic()
        self.log("== %s" % name)
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - a failed phase is reported, the run goes on
            self.results["errors"].append({"phase": name, "error": "%s: %s" % (type(e).__name__, e)})
            self.log("!! %s failed: %s" % (name, e))
            traceback.print_exc()
        self.results.setdefault("phase_seconds", {})[name] = round(time.monotonic() - start, 2)

    def cpu_note(self, run, share):
        self.results["client_cpu"].append({"run": run, "cpu_share": share})

    # Limits -------------------------------------------------------------------------------

    def limits(self):
        p, L = self.profile, self.results["limits"]
        # The sender side plays the broker: pinned to the broker's CPU; receivers to the client's.
        pair = {"sender-cpu": -1 if self.broker_cpu is None else self.broker_cpu,
                "receiver-cpu": -1 if self.client_cpu is None else self.client_cpu}
        L["disk_write"] = self.perf.run("disk-write", {"dir": self.work, "bytes": p["disk_write_bytes"],
                                                       "call-bytes": 1 << 20}, cpu=self.broker_cpu)
        L["fdatasync"] = self.perf.run("fdatasync", {"dir": self.work, "write-bytes": batch_bytes(1024),
                                                     "samples": p["fsync_samples"],
                                                     "duration-s": p["fsync_duration_s"]}, cpu=self.broker_cpu)
        L["tcp_stream"] = self.perf.run("tcp-stream", dict(pair, **{"call-bytes": 65536, "duration-s": p["tcp_s"]}), cpu=None)
        L["tcp_rtt"] = self.perf.run("tcp-rtt", dict(pair, **{"message-bytes": 1024, "samples": p["rtt_samples"],
                                                             "duration-s": p["tcp_s"] * 2}), cpu=None)
        L["wake_lateness"] = self.wake_lateness()
        # `repeats` rounds of every method and call size: this VM's loopback speed swings by up
        # to 2x between runs. The best of the rounds per configuration goes under "runs" and every
        # round under "all_runs" (report.py takes medians from them); the broker's catch-up read
        # is repeated as many times.
        rounds = [self.perf.run("file-to-socket", dict(pair, **{
            "dir": self.work, "file-bytes": p["file_bytes"], "methods": "sendfile,sendfile-nb,splice,uring-splice,readwrite,readwrite-nb",
            "call-bytes": ",".join(str(c) for c in p["file_call_bytes"]), "duration-s": p["file_s"]}), cpu=None)
            for _ in range(p["repeats"])]
        best = {}
        for run in (r for one in rounds for r in one["runs"]):
            key = (run["method"], run["call_bytes"])
            if key not in best or run["mb_per_s"] > best[key]["mb_per_s"]:
                best[key] = run
        L["file_to_socket"] = dict(rounds[0], runs=list(best.values()), repeats=p["repeats"],
                                   all_runs=[r for one in rounds for r in one["runs"]])
        # Informational: the two default methods at 1 MiB on a file written one 1 KiB produce batch
        # at a time, as the broker's segments are. The page cache's folios follow the size of the
        # writes that filled a file, and reading small folios costs more (report.py sets the
        # broker's reads beside these as well).
        batch = batch_bytes(1024, PERF_BATCH_TARGET_BYTES // 1024)
        batch_rounds = [self.perf.run("file-to-socket", dict(pair, **{
            "dir": self.work, "file-bytes": p["file_bytes"], "methods": "sendfile-nb,readwrite",
            "call-bytes": 1 << 20, "duration-s": p["file_s"], "write-bytes": batch}), cpu=None)
            for _ in range(p["repeats"])]
        L["file_to_socket_batch_written"] = {"write_bytes": batch,
                                             "all_runs": [r for one in batch_rounds for r in one["runs"]]}
        # Last, so the write-back it leaves behind does not disturb the fdatasync samples.
        L["disk_write_sustained"] = self.sustained_write()

    def probe_cpus(self):
        """The broker's and the client's CPU, or every CPU this process may use when unpinned."""
        pinned = [c for c in (self.broker_cpu, self.client_cpu) if c is not None]
        return ",".join(str(c) for c in (pinned or sorted(os.sched_getaffinity(0))))

    def log_lateness(self, what, run):
        either, every = run["either"], run["all"]
        self.log("  %s: p99 %.0f us, p99.9 %.0f us, max %.0f us; stalls over 5 ms: %d on some CPU, %d on all at once"
                 % (what, either["lateness"]["p99_us"], either["lateness"]["p999_us"], either["lateness"]["max_us"],
                    either["stalls_over_5ms"], every["stalls_over_5ms"]))

    def wake_lateness(self):
        """How late a sleeping thread runs after its due time on the broker's and the client's CPU,
        sampled every 100 us for as long as an end-to-end window on the otherwise idle machine: the
        delay the machine alone (hypervisor, interrupts, kernel threads) adds to a steady stream
        of work, the floor under the end-to-end percentiles."""
        cpus = self.probe_cpus()
        run = self.perf.run("wake-lateness", {"cpus": cpus, "period-us": 100,
                                              "duration-s": self.profile["e2e_duration_s"]}, cpu=None)
        self.log_lateness("idle wake-up lateness on CPUs %s" % cpus, run)
        return run

    def sustained_write(self):
        """Buffered 1 MiB writes to a fresh file for as long as a produce phase runs (the 1 GiB
        write above is over before the page cache runs out of recently freed pages, which this VM
        hands out without a hypervisor first touch), capped at half the work dir's free space."""
        p = self.profile
        fs = os.statvfs(self.work)
        half_free = fs.f_bavail * fs.f_frsize // 2
        cap = min(p["sustained_write_bytes_max"], half_free)
        run = self.perf.run("disk-write", {"dir": self.work, "duration-s": p["sustained_write_s"], "bytes": cap,
                                           "call-bytes": 1 << 20}, cpu=self.broker_cpu)
        run["free_bytes_at_start"] = fs.f_bavail * fs.f_frsize
        self.log("  sustained buffered write for %.1f s: %.0f MB/s (%s MB in each second)%s"
                 % (run["seconds"], run["sustained_mb_per_s"], ", ".join("%.0f" % mb for mb in run["per_second_mb"]),
                    " - stopped at the byte cap" if run["reached_byte_cap"] else ""))
        return run

    # Sluice -------------------------------------------------------------------------------

    def start_broker(self, name, overrides=None):
        workdir = os.path.join(self.work, name)
        data = os.path.join(workdir, "data")
        os.makedirs(data, exist_ok=True)
        base = {"max.connections": 20000, "auto.create.topics.enable": "false"}
        base.update(overrides or {})
        for item in self.args.broker_override:
            key, _, value = item.partition("=")
            base[key] = value
        broker = e2e_lib.PinnedBroker(self.sluice_bin, workdir, data, e2e_lib.benchlib.free_port(), base, self.broker_cpu)
        self.log("  broker: %s" % " ".join(broker.command()))
        timing = broker.start(timeout_s=300)
        return broker, timing

    def kafka(self, broker, profile_as=None, **options):
        """One sluice-perf kafka run; with --profile and a `profile_as` name, the broker is sampled
        with perf (cpu-clock) for the run and the profile summarised under results["profiles"]."""
        options.setdefault("bootstrap", broker.bootstrap)
        options.setdefault("broker-pid", broker.pid)
        if not (self.args.profile and profile_as):
            return self.perf.run("kafka", options, timeout_s=600)
        with e2e_lib.CpuProfile(broker.pid, os.path.join(self.work, "profile-%s" % profile_as),
                                os.path.join(self.out_dir, "profile-%s.txt" % profile_as)) as profile:
            run = self.perf.run("kafka", options, timeout_s=600)
        self.results.setdefault("profiles", {})[profile_as] = profile.summary
        self.log("  profile %s: %s" % (profile_as, profile.describe()))
        return run

    def sluice(self):
        p, S = self.profile, self.results["sluice"]
        broker, _ = self.start_broker("throughput")
        try:
            common = {"partitions": p["partitions"], "topic-config": "flush.mode=async", "acks": -1,
                      "warmup-s": p["warmup_s"], "duration-s": p["duration_s"]}
            for size in p["sizes"]:
                run = self.kafka(broker, topic="perf-%d" % size, producers=p["producers"], **{"record-bytes": size}, **common,
                                 profile_as="produce-%d" % size if size == p["fetch_size"] else None)
                S["produce"][str(size)] = run
                self.cpu_note("sluice-perf produce %d B" % size, run["client"]["cpu_share"])
                self.log("  produce %5d B: %.0f records/s, %.1f MB/s, p99 %.0f us, broker CPU %.2f, client CPU %.2f"
                         % (size, run["produce"]["records_per_s"], run["produce"]["mb_per_s"],
                            run["produce"]["latency"]["p99_us"], run["broker"]["cpu_share"], run["client"]["cpu_share"]))
                if size in p["consume_sizes"]:
                    self.catch_up_reads(broker, size)
                # Each phase's data goes when the phase is done, as the peers' servers delete their
                # store when they stop: every produce phase then starts with the memory the one
                # before it freed. On this VM a page the page cache takes costs far more when it
                # is not such a recently freed one (see sustained_write), so leaving the 100 B
                # phase's gigabytes in place would charge the next phase for the order it runs in.
                self.drop_topic(broker, "perf-%d" % size)
            # Durable mode: one request in flight, one 1 KiB record per batch, acks=all.
            run = self.kafka(broker, topic="perf-durable", partitions=1, producers=1, window=1,
                             **{"topic-config": "flush.mode=durable", "acks": -1, "record-bytes": 1024,
                                "batch-records": 1, "warmup-s": p["warmup_s"], "duration-s": p["duration_s"]})
            S["durable"] = run
            self.cpu_note("sluice-perf durable produce", run["client"]["cpu_share"])
            self.log("  durable produce p99 %.0f us (%.0f records/s)" % (run["produce"]["latency"]["p99_us"],
                                                                       run["produce"]["records_per_s"]))
            self.e2e(broker)
        finally:
            broker.stop()

    def catch_up_reads(self, broker, size):
        """The catch-up reads of the backlog the produce run of `size`-byte records left: the default
        transfer, and for the fetch size also fetch.transfer=splice and =uring-splice (file -> pipe
        -> socket by syscalls or by io_uring, the other zero-copy variants), each compared with the
        best raw zero-copy method, and fetch.transfer=copy (read into user space, then send),
        compared with raw read+write; the broker restarts on the same data for each."""
        p, S = self.profile, self.results["sluice"]
        # The reads find the backlog in the page cache and written back, as the raw file->socket
        # baselines find theirs: without this sync the kernel's write-back of the produce run's
        # data would compete with the first read.
        os.sync()
        run = self.catch_up_best(broker, size)
        S["consume"][str(size)] = run
        self.cpu_note("sluice-perf consume %d B" % size, run["client"]["cpu_share"])
        self.log("  consume %5d B: %.0f records/s, %.1f MB/s, broker CPU %.2f, client CPU %.2f"
                 % (size, run["consume"]["records_per_s"], run["consume"]["mb_per_s"],
                    run["broker"]["cpu_share"], run["client"]["cpu_share"]))
        if size != p["fetch_size"]:
            return
        for transfer in ("splice", "uring-splice", "copy"):
            broker.stop()
            broker.overrides["fetch.transfer"] = transfer
            broker.start(timeout_s=300)
            run = self.catch_up_best(broker, size)
            S["consume_" + transfer] = {str(size): run}
            self.cpu_note("sluice-perf consume %d B (fetch.transfer=%s)" % (size, transfer), run["client"]["cpu_share"])
            self.log("  consume %5d B with fetch.transfer=%s: %.1f MB/s, broker CPU %.2f"
                     % (size, transfer, run["consume"]["mb_per_s"], run["broker"]["cpu_share"]))
        broker.stop()
        del broker.overrides["fetch.transfer"]
        broker.start(timeout_s=300)

    def drop_topic(self, broker, topic):
        """Removes a topic's data with the broker stopped (a restart, so the memory is free at once
        rather than after a deletion delay)."""
        broker.stop()
        removed = 0
        for directory in topic_dirs(broker, topic):
            removed += sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(directory) for f in files)
            shutil.rmtree(directory)
        broker.start(timeout_s=300)
        self.log("  removed topic %s (%.0f MB)" % (topic, removed / 1e6))

    def cache_backlog(self, broker, size):
        """Reads the backlog's segment files once, so the catch-up reads find it in the page cache
        as the raw file->socket baselines find their file. This VM pages out page cache untouched
        for about a minute (a DAMON pageout scheme), so data produced a minute earlier may have
        left it; a real broker's tail readers find it there. Returns the bytes read."""
        total = 0
        for directory in topic_dirs(broker, "perf-%d" % size):
            for path in glob.glob(os.path.join(directory, "*.log")):
                with open(path, "rb", buffering=0) as f:
                    while True:
                        chunk = f.read(1 << 20)
                        if not chunk:
                            break
                        total += len(chunk)
        return total

    def catch_up_best(self, broker, size):
        """The fastest of `repeats` catch-up reads (as many as the raw file->socket rounds), with
        every read's figures in execution order under "runs" (report.py takes their medians) and
        the slower ones under "other_runs"."""
        self.log("  page-cached the %d B backlog (%.0f MB)" % (size, self.cache_backlog(broker, size) / 1e6))
        runs = [self.catch_up(broker, size) for _ in range(self.profile["repeats"] if size == self.profile["fetch_size"] else 1)]
        summaries = [catch_up_summary(r) for r in runs]
        order = sorted(range(len(runs)), key=lambda i: runs[i]["consume"]["mb_per_s"], reverse=True)
        best = dict(runs[order[0]])
        best["runs"] = summaries
        best["other_runs"] = [summaries[i] for i in order[1:]]
        return best

    def catch_up(self, broker, size):
        """A catch-up read of the backlog the produce run of `size`-byte records left."""
        transfer = broker.overrides.get("fetch.transfer")
        return self.kafka(broker, topic="perf-%d" % size, create=0, producers=0, consumers=1,
                          partitions=self.profile["partitions"],
                          profile_as=("fetch-%s-%d" % (transfer, size) if transfer else "fetch-%d" % size)
                          if size == self.profile["fetch_size"] else None,
                          # The read ends at the backlog's end; duration-s only bounds it, at 10 s
                          # or more: with quick mode's 0.6 s a read on a loaded VM once ended before
                          # its first fetch (0 fetches, the consumer's CPU busy all along: likely
                          # the first touch of the 80 MiB receive buffer it then had, ~13 us a
                          # page here).
                          **{"from": "earliest", "until-end": 1, "warmup-s": 0,
                             "duration-s": max(self.profile["duration_s"], 10.0),
                             "record-bytes": size,
                             # Quick mode checks every fetched batch's CRC (it proves the path; the
                             # full run leaves the client lean).
                             "check-crc": 1 if self.args.mode == "quick" else 0})

    def e2e(self, broker):
        p, S = self.profile, self.results["sluice"]
        max_rate = S["produce"]["1024"]["produce"]["records_per_s"]
        S["e2e_max_rate"] = max_rate
        for load in p["e2e_loads"]:
            rate = self.e2e_rate(max_rate, load)
            run = self.e2e_run(broker, rate, "perf-e2e-%s" % load)
            self.drop_topic(broker, "perf-e2e-%s" % load)
            S["e2e"][str(load)] = run
            self.cpu_note("sluice-perf e2e at %.0f%% of max" % (load * 100), run["client"]["cpu_share"])
            e2e = run["consume"]["e2e_latency"]
            self.log("  e2e at %.0f records/s (%.0f%%): p50 %.0f us, p99 %.0f us, p99.9 %.0f us"
                     % (rate, load * 100, e2e["p50_us"], e2e["p99_us"], e2e["p999_us"]))
            # Right after the half-load run, before the loads near the maximum leave the machine
            # busy writing back (and the broker, at 90 %, behind).
            if load == 0.5:
                S["e2e_probed"] = self.e2e_probed(broker, max_rate)

    def e2e_rate(self, max_rate, load):
        """The offered records/s at `load` (a fraction of the measured maximum), within the profile's cap."""
        rate = max(100.0, max_rate * load)
        return min(rate, self.profile["e2e_rate_max"]) if self.profile["e2e_rate_max"] else rate

    def e2e_run(self, broker, rate, topic):
        """One open-loop end-to-end run at `rate` records/s of 1 KiB."""
        p = self.profile
        # Batches of about 1 ms of records, as a producer with linger.ms=1 would send.
        batch_records = max(1, int(round(rate / 1000.0)))
        return self.kafka(broker, topic=topic, partitions=p["partitions"], producers=1, consumers=1,
                          window=64, rate=rate, **{"topic-config": "flush.mode=async", "acks": -1, "record-bytes": 1024,
                                                   "batch-records": batch_records, "warmup-s": p["warmup_s"],
                                                   "duration-s": p["e2e_duration_s"], "from": "latest",
                                                   "fetch-max-wait-ms": 100})

    def e2e_probed(self, broker, max_rate):
        """The half-load run once more, with the wake-up probe sampling both CPUs every 1 ms
        alongside (a few percent of a core; the figures above come from runs without it). A stall
        that makes both CPUs late at once is the machine's, not the broker's."""
        p = self.profile
        rate = self.e2e_rate(max_rate, 0.5)
        probe = e2e_lib.Background(self.perf, "wake-lateness", {
            "cpus": self.probe_cpus(), "period-us": 1000, "duration-s": p["warmup_s"] + p["e2e_duration_s"]})
        run = self.e2e_run(broker, rate, "perf-e2e-probed")
        lateness = probe.result(timeout_s=60)
        self.drop_topic(broker, "perf-e2e-probed")
        e2e = run["consume"]["e2e_latency"]
        self.log("  e2e at %.0f records/s with the stall probe: p99 %.0f us, p99.9 %.0f us"
                 % (rate, e2e["p99_us"], e2e["p999_us"]))
        self.log_lateness("wake-up lateness during it", lateness)
        return {"run": run, "wake_lateness": lateness}

    def scale_partition_count(self):
        """The profile's partition count, or fewer when the open-file limit cannot hold them: the
        broker keeps one descriptor per idle partition and refuses a topic past limit - 1024
        partitions in all (50 are __consumer_offsets).  Returns (count, reason or None)."""
        wanted = self.profile["scale_partitions"]
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        fit = soft - 1024 - 50 - 100
        if fit < wanted:
            return fit, "open-file limit %d holds only %d partitions (raise the hard limit: ulimit -Hn)" % (soft, fit)
        return wanted, None

    def scale(self):
        p, S = self.profile, self.results["sluice"]["scale"]
        n, reason = self.scale_partition_count()
        if reason:
            self.results["skipped"].append("scale: %d partitions instead of %d: %s" % (n, p["scale_partitions"], reason))
        broker, timing = self.start_broker("scale-partitions")
        try:
            S["start"] = timing
            rss0 = e2e_lib.settle_rss(broker.pid)
            created = self.perf.run("create-topic", {"bootstrap": broker.bootstrap, "topic": "idle", "partitions": n,
                                                     "timeout-ms": 300000}, timeout_s=600)
            rss1 = e2e_lib.settle_rss(broker.pid, seconds=2.0)
            S["partitions"] = {"count": n, "wanted": p["scale_partitions"], "create_s": created["seconds"],
                               "rss_before_kib": rss0, "rss_after_kib": rss1, "kib_per_partition": (rss1 - rss0) / n}
            self.log("  %d idle partitions: %.1f KiB RSS each (created in %.1fs)" % (n, (rss1 - rss0) / n, created["seconds"]))
            S["stop"] = broker.stop()
            S["open_files"] = self.perf.run("open-files", {"dir": broker.data_dir}, cpu=self.broker_cpu)
            S["restart"] = broker.start(timeout_s=600)
            self.log("  clean restart of %d partitions: serving after %.2fs (stop took %.2fs; opening every file %.2fs)"
                     % (n, S["restart"]["serving_s"], S["stop"]["stop_s"], S["open_files"]["seconds"]))
        finally:
            if broker.running():
                broker.stop()
        # Idle connections on a fresh broker: the descriptors of both tests would not fit together.
        broker, _ = self.start_broker("scale-connections")
        try:
            count = p["idle_connections"]
            rss1 = e2e_lib.settle_rss(broker.pid)
            idle = e2e_lib.IdleConnections(self.perf, broker.bootstrap, count, "kafka")
            try:
                rss2 = e2e_lib.settle_rss(broker.pid)
            finally:
                idle.close()
            S["connections"] = {"connections": count, "rss_before_kib": rss1, "rss_after_kib": rss2,
                                "kib_per_connection": (rss2 - rss1) / count}
            self.log("  %d idle connections: %.1f KiB RSS each" % (count, (rss2 - rss1) / count))
        finally:
            broker.stop()

    # Peers --------------------------------------------------------------------------------

    def peers(self):
        p, P = self.profile, self.results["peers"]
        have = peers.available()
        if not have["redis"]:
            self.results["skipped"].append("redis: redis-server/redis-benchmark not installed (tools/setup)")
        if not have["nats"]:
            self.results["skipped"].append("nats: nats-server not installed (tools/setup)")
        for size in p["sizes"]:
            if have["redis"]:
                self.phase("peers: redis %d B" % size, lambda size=size: self.redis(size))
            if have["nats"]:
                self.phase("peers: nats %d B" % size, lambda size=size: self.nats(size))
        for kind in ("redis", "nats"):
            if have[kind]:
                self.phase("peers: %s idle connections" % kind, lambda kind=kind: P.__setitem__(
                    "idle_" + kind, peers.idle_rss_per_connection(self.perf, kind, p["idle_connections"], self.broker_cpu,
                                                                  self.work, self.log)))

    def redis(self, size):
        p = self.profile
        run = peers.redis_xadd_and_xread(size, p["peer_duration_s"], self.broker_cpu, self.client_cpu, self.work, self.log,
                                         xread=size in p["consume_sizes"])
        self.results["peers"].setdefault("redis", {})[str(size)] = run
        self.cpu_note("redis-benchmark XADD %d B" % size, run["xadd"]["client_cpu_share"])
        line = "  redis XADD %5d B: %.0f records/s (client CPU %.2f, server CPU %.2f)" % (
            size, run["xadd"]["records_per_s"], run["xadd"]["client_cpu_share"], run["xadd"]["server_cpu_share"])
        if "xread" in run:
            self.cpu_note("redis-benchmark XREAD %d B" % size, run["xread"]["client_cpu_share"])
            line += "; XREAD %.0f records/s (client CPU %.2f)" % (run["xread"]["records_per_s"],
                                                                 run["xread"]["client_cpu_share"])
        self.log(line)

    def nats(self, size):
        p = self.profile
        run = peers.nats_publish(self.perf, size, p["peer_duration_s"], p["warmup_s"], self.broker_cpu, self.work, self.log)
        self.results["peers"].setdefault("nats", {})[str(size)] = run
        self.cpu_note("sluice-perf nats-pub %d B" % size, run["client"]["cpu_share"])
        self.log("  nats pub %5d B: %.0f records/s (client CPU %.2f, server CPU %.2f)"
                 % (size, run["records_per_s"], run["client"]["cpu_share"], run["server_cpu_share"]))

    # Report -------------------------------------------------------------------------------

    def finish(self):
        figures = report.build_figures(self.results)
        self.results["figures"] = figures
        self.results["finished_at"] = report.stamp()
        try:
            self.results["plots"] = report.plot(self.results, self.out_dir)
        except Exception as e:  # noqa: BLE001
            self.results["errors"].append({"phase": "plots", "error": "%s: %s" % (type(e).__name__, e)})
            self.results["plots"] = []
        path = os.path.join(self.out_dir, "results.json")
        with open(path, "w") as f:
            json.dump(self.results, f, indent=1, sort_keys=True)
        sustained = report.sustained_write_lines(self.results) + report.stall_lines(self.results)
        with open(os.path.join(self.out_dir, "table.md"), "w") as f:
            f.write(report.markdown_table(figures) + "\n" + "".join("\n" + line + "\n" for line in sustained))
        print()
        print(report.text_table(figures))
        print()
        for line in sustained:
            print(line)
            print()
        print("client CPU share of its core:")
        for line in report.client_cpu_lines(self.results):
            print("  " + line)
        if self.args.update_readme:
            report.update_readme(self.results, figures)
            print("README table updated: %s" % report.README)
        print("JSON: %s" % path)
        for png in self.results["plots"]:
            print("PNG:  %s" % png)
        for error in self.results["errors"]:
            print("FAILED %s: %s" % (error["phase"], error["error"]))
        for skipped in self.results["skipped"]:
            print("skipped: %s" % skipped)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--build-dir", help="build directory with src/server/sluice and bench/e2e/sluice-perf")
    parser.add_argument("--out-dir", help="where results.json, table.md and the PNGs go (default: bench/e2e/results/full for the full "
                             "run, <build>/e2e-quick for the quick one)")
    parser.add_argument("--work-dir", help="parent of the temporary data directories (default: the system's)")
    parser.add_argument("--broker-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--no-pin", action="store_true", help="run without taskset")
    parser.add_argument("--broker-override", action="append", default=[], metavar="KEY=VALUE",
                        help="extra broker setting for every broker the harness starts")
    parser.add_argument("--phases", default="limits,sluice,scale,peers")
    parser.add_argument("--update-readme", action="store_true", default=None,
                        help="rewrite the table in bench/e2e/README.md (default: on in full mode)")
    parser.add_argument("--no-update-readme", dest="update_readme", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    parser.add_argument("--profile", action="store_true",
                        help="sample the broker with perf (cpu-clock) during the produce and catch-up runs of the fetch "
                             "size; the top symbols go to profile-*.txt in the out dir and into the JSON (perf.data "
                             "stays in the work dir, kept with --keep)")
    args = parser.parse_args()
    if args.update_readme is None:
        args.update_readme = args.mode == "full"
    e2e_lib.raise_fd_limit(65536)
    harness = Harness(args)
    start = time.monotonic()
    try:
        phases = args.phases.split(",")
        if "limits" in phases:
            harness.phase("limits", harness.limits)
        if "sluice" in phases:
            harness.phase("sluice", harness.sluice)
        if "scale" in phases:
            harness.phase("scale", harness.scale)
        if "peers" in phases:
            harness.peers()
        harness.results["seconds"] = round(time.monotonic() - start, 1)
        harness.finish()
    finally:
        if not args.keep:
            shutil.rmtree(harness.work, ignore_errors=True)
    print("done in %.0fs" % (time.monotonic() - start))
    return 1 if harness.results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
