#!/usr/bin/python3
"""Instruction counts of the Sluice broker per produced and per fetched megabyte, measured with
valgrind's callgrind: a figure that does not depend on this machine's speed or load, repeatable
run to run, to argue scaling to a many-core host from (issue 6).

    /usr/bin/python3 bench/e2e/callgrind.py --build-dir build [--transfers zerocopy,copy]

The broker (<build>/src/server/sluice) runs under `valgrind --tool=callgrind`; the load comes from
the harness's own generator (<build>/bench/e2e/sluice-perf kafka), natively.  Phases, each
measured from a callgrind dump (`callgrind_control --dump`, which also zeroes the counters) to
the next, so start-up and topic creation are excluded:

  produce   one producer connection sends --produce-mb of --record-bytes records in batches of
            --batch-bytes, paced at a fixed rate over --produce-s seconds (sluice-perf has no
            record-count option; paced, the count is fixed as long as the broker under callgrind
            keeps up, which the script checks), acks=all, flush.mode=async;
  fetch     one consumer reads that whole backlog from the earliest offset to the end offsets
            (a catch-up read: a fixed amount), with fetch.transfer=zerocopy and, with
            --transfers zerocopy,copy, again after a restart with fetch.transfer=copy.

The denominators are what the broker stored and served, not what the client counted: produced
records = records the catch-up fetch read back (the whole log); produced bytes = the sizes of the
topic's .log segment files; fetched bytes = the record-batch bytes the consumer received.
Figures: Ir (instructions executed in user space by every broker thread; the kernel's work -
copies, sendfile, io_uring - is not counted) per MB (1e6 bytes) of record payload and of batch
bytes, and the top functions (self and inclusive Ir) of each phase from callgrind_annotate.

Requires: valgrind (tools/setup installs it).  Valgrind before 3.23 holds its global lock across
io_uring_enter, which would starve every thread but the one waiting there; the broker's event
loop notices valgrind (valgrind/valgrind.h) and sleeps in poll(2) instead (src/io/event_loop.cc).  Every process started here is
stopped by its PID; every wait is bounded.  Uses one CPU for the broker (--broker-cpu) and one for
the client (--client-cpu).
"""

import argparse
import glob
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_lib  # noqa: E402

MB = 1e6


class CallgrindBroker(e2e_lib.PinnedBroker):
    """A PinnedBroker run under callgrind (valgrind execs the tool in the same process, so the PID
    is the broker's).  Each dump goes to <workdir>/callgrind.out.<pid>.<part>."""

    def __init__(self, binary, workdir, data_dir, port, overrides, cpu, valgrind_args, tunables):
        super().__init__(binary, workdir, data_dir, port, overrides, cpu)
        self.valgrind_args = list(valgrind_args)
        self.tunables = tunables
        # One file set per process (%p: valgrind puts the PID there): a restarted broker would
        # otherwise overwrite the first one's parts.
        self.out_prefix = os.path.join(workdir, "callgrind.out.%p")

    def command(self):
        broker = e2e_lib.benchlib.BenchBroker.command(self)
        env = ["env", "GLIBC_TUNABLES=" + self.tunables] if self.tunables else []
        cmd = env + ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + self.out_prefix,
               "--dump-instr=no", "--collect-jumps=no", "--separate-threads=no"] + self.valgrind_args + broker
        return e2e_lib.pinned(self.cpu, cmd)

    def dump_files(self):
        return set(glob.glob(self.out_prefix.replace("%p", str(self.pid)) + "*"))

    def dump(self, hint, timeout_s=120):
        """Dumps the counters since the last dump (and zeroes them); returns the new file."""
        before = self.dump_files()
        out = subprocess.run(["callgrind_control", "--dump=" + hint, str(self.pid)],
                             capture_output=True, text=True, timeout=timeout_s)
        if out.returncode != 0:
            raise e2e_lib.HarnessError("callgrind_control --dump failed: %s %s" % (out.stdout, out.stderr))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            new = sorted(self.dump_files() - before)
            # callgrind writes the file in one go after the request is answered; a file whose
            # totals line is there is complete.
            if new and totals_of(new[0]) is not None:
                return new[0]
            time.sleep(0.2)
        raise e2e_lib.HarnessError("no callgrind dump file for %s within %ds" % (hint, timeout_s))


def totals_of(path):
    """The event counts of a callgrind dump ("summary:" / "totals:" line), by event name."""
    events, values = None, None
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("events:"):
                    events = line.split()[1:]
                elif line.startswith("totals:") or (values is None and line.startswith("summary:")):
                    values = [int(v) for v in line.split()[1:]]
    except OSError:
        return None
    if events is None or values is None:
        return None
    return dict(zip(events, values))


ANNOTATE_LINE = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*([\d.]+)%\)\s+)?(?:\*\s+)?(.*\S)\s*$")
# Frames every thread has at its base: in the inclusive list they only restate the total.
THREAD_BASE = re.compile(r"clone\.S:clone |pthread_create\.c:start_thread |libstdc\+\+\.so[^ ]*\]$|::_M_run\(\)")


def without_unfinished_calls(path):
    """A copy of a dump without its "calls=0" entries.  A dump taken while a thread is inside a
    call (every loop thread is, in EventLoop::run) records that unfinished call's cost so far as
    calls=0 lines; callgrind_annotate 3.19 books those as the caller's self cost (clone, the
    thread's run function: 100% "self").  Self costs are right without them."""
    fixed = path + ".self"
    with open(path) as src, open(fixed, "w") as out:
        skip = False
        for line in src:
            if skip:
                skip = False
                continue
            if line.startswith("calls=0 "):
                skip = True  # and the cost line after it
                continue
            out.write(line)
    return fixed


def top_functions(path, inclusive, count):
    """callgrind_annotate's top `count` functions of a dump: [{"ir", "percent", "name"}] (the
    inclusive list without the frames at the base of every thread)."""
    source = path if inclusive else without_unfinished_calls(path)
    out = subprocess.run(["callgrind_annotate", "--inclusive=%s" % ("yes" if inclusive else "no"),
                          "--threshold=100", source], capture_output=True, text=True, timeout=300)
    if not inclusive:
        os.unlink(source)
    rows, started = [], False
    for line in out.stdout.splitlines():
        if not started:
            started = line.strip().startswith("Ir") and "file:function" in line
            continue
        if not line.strip():
            if rows:
                break
            continue
        if line.startswith("--"):
            continue
        m = ANNOTATE_LINE.match(line)
        if not m or (inclusive and THREAD_BASE.search(m.group(3))):
            continue
        rows.append({"ir": int(m.group(1).replace(",", "")),
                     "percent": float(m.group(2)) if m.group(2) else None, "name": m.group(3)})
        if len(rows) >= count:
            break
    return rows


def log_bytes(data_dir, topic):
    """Bytes in the .log segment files of `topic`'s partitions (what the produce phase stored)."""
    total = 0
    for part_dir in glob.glob(os.path.join(data_dir, topic + "-*")):
        for name in os.listdir(part_dir):
            if name.endswith(".log"):
                total += os.path.getsize(os.path.join(part_dir, name))
    return total


class Run:
    def __init__(self, args):
        self.args = args
        self.build = e2e_lib.find_build_dir(args.build_dir)
        self.sluice_bin = args.broker_bin or os.path.join(self.build, "src", "server", "sluice")
        self.perf_bin = os.path.join(self.build, "bench", "e2e", "sluice-perf")
        pin = not args.no_pin and (os.cpu_count() or 1) >= 2
        self.broker_cpu = args.broker_cpu if pin else None
        self.client_cpu = args.client_cpu if pin else None
        self.out_dir = os.path.abspath(args.out_dir or os.path.join(self.build, "callgrind"))
        os.makedirs(self.out_dir, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="sluice-callgrind-", dir=args.work_dir)
        self.perf = e2e_lib.Perf(self.perf_bin, self.client_cpu, self.log)
        self.topic = "cg-%d" % args.record_bytes
        # valgrind runs `rep movsb` one byte per instruction: glibc's memcpy/memset use it above a
        # few KiB, which would make every large copy count 1 Ir per byte.  By default the broker
        # runs with those thresholds raised, so copies run (and count) as the vector loops.
        self.tunables = "" if args.rep_movsb else \
            "glibc.cpu.x86_rep_movsb_threshold=%d:glibc.cpu.x86_rep_stosb_threshold=%d" % (1 << 60, 1 << 60)
        self.results = {"schema": "sluice-callgrind/1", "command": " ".join(["bench/e2e/callgrind.py"] + sys.argv[1:]),
                        "binaries": {"sluice": self.sluice_bin, "sluice_perf": self.perf_bin},
                        "valgrind": subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip(),
                        "glibc_tunables": self.tunables, "workload": {}, "phases": {}}

    def log(self, text):
        print(text, flush=True)

    def start_broker(self, overrides):
        workdir = os.path.join(self.work, "broker")
        data = os.path.join(workdir, "data")
        os.makedirs(data, exist_ok=True)
        base = {"auto.create.topics.enable": "false", "metrics.listener": "none"}
        base.update(overrides)
        for item in self.args.broker_override:
            key, _, value = item.partition("=")
            base[key] = value
        if not hasattr(self, "port"):
            self.port = e2e_lib.benchlib.free_port()
        broker = CallgrindBroker(self.sluice_bin, workdir, data, self.port, base, self.broker_cpu,
                                 self.args.valgrind_arg, self.tunables)
        self.log("  broker: %s" % " ".join(broker.command()))
        timing = broker.start(timeout_s=self.args.start_timeout_s)
        self.log("  serving after %.1fs under callgrind" % timing["serving_s"])
        return broker

    def phase(self, broker, name, fn):
        """Runs fn() between two dumps; returns fn's result with the phase's counts recorded."""
        start = time.monotonic()
        result = fn()
        wall_s = time.monotonic() - start
        path = broker.dump(name)
        shutil.copy(path, os.path.join(self.out_dir, "callgrind.out.%s" % name))
        totals = totals_of(path)
        phase = {"ir": totals.get("Ir"), "wall_s": round(wall_s, 2), "dump": os.path.join(self.out_dir, "callgrind.out.%s" % name),
                 "top_self": top_functions(path, False, self.args.top),
                 "top_inclusive": top_functions(path, True, self.args.top)}
        self.results["phases"][name] = phase
        self.log("  %s: %s Ir in %.1fs" % (name, format(phase["ir"], ","), wall_s))
        return result

    def produce(self):
        a = self.args
        records = int(a.produce_mb * MB) // a.record_bytes
        rate = records / a.produce_s
        return self.perf.run("kafka", {
            "bootstrap": "127.0.0.1:%d" % self.port, "topic": self.topic, "create": 0, "partitions": a.partitions,
            "producers": a.producers, "record-bytes": a.record_bytes, "batch-bytes": a.batch_bytes,
            "acks": -1, "window": a.window, "rate": "%.3f" % rate, "warmup-s": 0, "duration-s": a.produce_s,
            "timeout-ms": 120000}, timeout_s=a.produce_s + 300)

    def fetch(self):
        a = self.args
        return self.perf.run("kafka", {
            "bootstrap": "127.0.0.1:%d" % self.port, "topic": self.topic, "create": 0, "producers": 0, "consumers": 1,
            "partitions": a.partitions, "from": "earliest", "until-end": 1, "warmup-s": 0, "duration-s": 3600,
            "record-bytes": a.record_bytes, "check-crc": 0, "fetch-max-bytes": a.fetch_max_bytes,
            "fetch-partition-max-bytes": a.fetch_partition_max_bytes, "timeout-ms": 120000}, timeout_s=a.fetch_timeout_s)

    def run(self):
        a = self.args
        transfers = a.transfers.split(",")
        broker = self.start_broker({"fetch.transfer": transfers[0]})
        try:
            self.perf.run("create-topic", {"bootstrap": "127.0.0.1:%d" % self.port, "topic": self.topic,
                                           "partitions": a.partitions, "topic-config": "flush.mode=async",
                                           "timeout-ms": 120000}, timeout_s=300)
            # Let the broker go idle, then zero: start-up and creation stay out of every phase.
            time.sleep(a.settle_s)
            broker.dump("setup")
            produced = self.phase(broker, "produce", self.produce)
            # The idle broker's own rate (loop wake-ups, timers): the noise floor of every phase.
            idle_start = time.monotonic()
            time.sleep(a.settle_s)
            idle = totals_of(broker.dump("idle"))["Ir"]
            idle_s = time.monotonic() - idle_start
            self.results["idle"] = {"ir": idle, "seconds": round(idle_s, 2), "ir_per_s": round(idle / idle_s)}
            self.log("  idle: %s Ir in %.1fs" % (format(idle, ","), idle_s))
            stored_bytes = log_bytes(broker.data_dir, self.topic)
            fetches = {}
            for i, transfer in enumerate(transfers):
                if i > 0:
                    broker.stop(timeout_s=300)
                    broker = self.start_broker({"fetch.transfer": transfer})
                    time.sleep(a.settle_s)
                    broker.dump("setup-%s" % transfer)
                fetches[transfer] = self.phase(broker, "fetch-%s" % transfer, self.fetch)
            broker.stop(timeout_s=300)
        finally:
            broker.kill_quietly()
        self.summarise(produced, stored_bytes, fetches)

    def summarise(self, produced, stored_bytes, fetches):
        a = self.args
        P = self.results["phases"]
        first = fetches[next(iter(fetches))]["consume"]
        records = first["records"]
        late = produced["produce"]["late_batches"]
        self.results["workload"] = {
            "record_bytes": a.record_bytes, "batch_bytes_target": a.batch_bytes, "partitions": a.partitions,
            "producers": a.producers, "window": a.window, "fetch_max_bytes": a.fetch_max_bytes,
            "fetch_partition_max_bytes": a.fetch_partition_max_bytes, "produce_s": a.produce_s, "produce_mb_target": a.produce_mb,
            "records_stored": records, "payload_bytes": records * a.record_bytes, "log_bytes": stored_bytes,
            "late_batches": late, "client_counted": produced["produce"],
        }
        # Paced sending fixes the count at the batches due within the window (late ones are
        # still sent, up to the in-flight window); a different count means the broker fell
        # behind by a whole window and the count depended on its speed.
        batch_records = produced["config"]["batch_records"]
        batches_per_s = int(a.produce_mb * MB) // a.record_bytes / a.produce_s / batch_records
        expected = math.ceil(a.produce_s * batches_per_s - 1e-9) * batch_records
        self.results["workload"]["records_expected"] = expected
        if records != expected:
            self.log("  WARNING: %d records stored, %d expected from the pace: the broker under callgrind fell "
                     "behind, so the amount depends on its speed (Ir per MB stays comparable)" % (records, expected))
        payload_mb = records * a.record_bytes / MB
        figures = {"produce": {"ir": P["produce"]["ir"], "payload_mb": payload_mb, "log_mb": stored_bytes / MB,
                               "ir_per_payload_mb": P["produce"]["ir"] / payload_mb,
                               "ir_per_log_mb": P["produce"]["ir"] / (stored_bytes / MB)}}
        for transfer, run in fetches.items():
            c = run["consume"]
            if c["records"] != records or not c["reached_end"]:
                raise e2e_lib.HarnessError("fetch-%s read %d records (reached_end %s), expected %d"
                                           % (transfer, c["records"], c["reached_end"], records))
            ir = P["fetch-%s" % transfer]["ir"]
            figures["fetch-%s" % transfer] = {"ir": ir, "payload_mb": c["records"] * a.record_bytes / MB,
                                              "batch_mb": c["batch_bytes"] / MB, "fetches": c["fetches"],
                                              "ir_per_payload_mb": ir / (c["records"] * a.record_bytes / MB),
                                              "ir_per_log_mb": ir / (c["batch_bytes"] / MB)}
        self.results["figures"] = figures
        path = os.path.join(self.out_dir, "callgrind.json")
        with open(path, "w") as f:
            json.dump(self.results, f, indent=1, sort_keys=True)
        print()
        print("broker instructions (Ir, user space, all threads); MB = 1e6 bytes; %d B records, %d records, "
              "%.1f MB payload, %.1f MB of log" % (a.record_bytes, records, payload_mb, stored_bytes / MB))
        print("%-16s %16s %14s %14s %8s %8s" % ("phase", "Ir", "Ir/payload MB", "Ir/log MB", "requests", "wall s"))
        for name, fig in figures.items():
            requests = records // batch_records if name == "produce" else fig["fetches"]
            print("%-16s %16s %14s %14s %8d %8.1f" % (name, format(fig["ir"], ","), format(round(fig["ir_per_payload_mb"]), ","),
                                                      format(round(fig["ir_per_log_mb"]), ","), requests, P[name]["wall_s"]))
        for name in figures:
            for kind in ("top_inclusive", "top_self"):
                print("\n%s, top %d by %s Ir:" % (name, a.top, kind[4:]))
                for row in P[name][kind]:
                    print("  %16s %6s  %s" % (format(row["ir"], ","),
                                              "" if row["percent"] is None else "%.2f%%" % row["percent"], row["name"]))
        print("\nJSON: %s" % path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", help="build directory with src/server/sluice and bench/e2e/sluice-perf")
    parser.add_argument("--broker-bin", help="broker binary (default: <build>/src/server/sluice)")
    parser.add_argument("--out-dir", help="where callgrind.json and the per-phase dumps go (default: <build>/callgrind)")
    parser.add_argument("--work-dir", help="parent of the temporary data directory (default: the system's)")
    parser.add_argument("--transfers", default="zerocopy", help="fetch.transfer values to fetch with: zerocopy,copy")
    parser.add_argument("--record-bytes", type=int, default=1024)
    parser.add_argument("--batch-bytes", type=int, default=128 * 1024, help="record batch size the producer sends")
    parser.add_argument("--produce-mb", type=float, default=64.0, help="record payload to produce (MB, 1e6 bytes)")
    parser.add_argument("--produce-s", type=float, default=32.0, help="seconds to pace the produce over")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--producers", type=int, default=1)
    parser.add_argument("--window", type=int, default=8, help="produce requests in flight per producer")
    parser.add_argument("--fetch-max-bytes", type=int, default=52428800, help="Fetch max_bytes (Kafka consumer default)")
    parser.add_argument("--fetch-partition-max-bytes", type=int, default=1048576,
                        help="Fetch partition_max_bytes (Kafka consumer default max.partition.fetch.bytes)")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--settle-s", type=float, default=2.0, help="idle time before each zeroing dump")
    parser.add_argument("--start-timeout-s", type=float, default=300.0)
    parser.add_argument("--fetch-timeout-s", type=float, default=600.0)
    parser.add_argument("--broker-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--no-pin", action="store_true", help="run without taskset")
    parser.add_argument("--broker-override", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--valgrind-arg", action="append", default=[], metavar="ARG", help="extra valgrind option")
    parser.add_argument("--rep-movsb", action="store_true",
                        help="leave glibc's rep movsb/stosb thresholds alone (large copies then count 1 Ir per byte)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    run = Run(args)
    start = time.monotonic()
    try:
        run.run()
    finally:
        if not args.keep:
            shutil.rmtree(run.work, ignore_errors=True)
    print("done in %.0fs" % (time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
