"""Crash safety: no acknowledged record is lost, duplicated, changed or moved.

- test_crash_rounds_durable: an idempotent confluent-kafka producer, in its own process, writes
  with acks=all (flush.mode=durable) to a 4-partition topic with 256 KiB segments and records
  every delivery report in a file. The broker is SIGKILLed at seeded random moments and restarted
  on the same data directory and port, 10 rounds. After each restart every acknowledged record is
  read back at its offset with its value, every value appears once, each partition is in produce
  order, what consumers could read before the crash is unchanged, and every partition reads end
  to end (contiguous offsets, whole batches, good CRCs) up to its high watermark.
  test_crash_rounds_async: the same in flush.mode=async (a process crash keeps the page cache).
- test_crash_torn_tails: after a SIGKILL the last segment of three partitions is damaged on
  purpose (random bytes appended, the last batch cut short, a bit of the last batch flipped);
  recovery cuts exactly the damage and the log continues after it.
- test_storage_fault_*: storage.faults injects EIO, ENOSPC, short writes and failed syncs into
  one partition; it answers KAFKA_STORAGE_ERROR, another topic keeps serving, nothing reaches the
  log that should not, and a restart without faults recovers.

The values are a function of (sequence number, partition, length), so the reader checks every
record it reads byte for byte and the producer records an acknowledgement as four numbers.
SLUICE_CRASH_SEED replays a run's choices (kill points, producer settings, values; the exact
moment of a kill still depends on timing); every test prints its seed. SLUICE_CRASH_ROUNDS sets
the number of crash rounds (default 10). tests/integration/soak_crash.py runs 100 rounds.

This file is also the producer process of the crash rounds: `test_crash.py --crash-producer ...`.
"""

import hashlib
import os
import random
import signal
import subprocess
import sys
import time

import harness
import kproto
from harness import Broker
from kproto import Record, build_batch

HERE = os.path.dirname(os.path.abspath(__file__))
PRODUCER_FLAG = "--crash-producer"

KAFKA_STORAGE_ERROR = 56
CRASH_PARTITIONS = 4
SEGMENT_BYTES = 256 * 1024
ROUNDS_DEFAULT = 10
VALUE_PAD_BYTES_MAX = 240
PRODUCE_RATE_DEFAULT = 4000  # records/s
CODECS = ["none", "none", "lz4", "zstd", "snappy", "gzip"]


# ---------------------------------------------------------------------------------------------
# Values. Every value is a function of (sequence number, partition, length), so the reader can
# check a record it has never seen acknowledged, and an acknowledgement is stored as two numbers.


def value_head(seq, partition):
    return b"v%09d-p%d-" % (seq, partition)


def value_pad(seq, pad_bytes):
    digest = hashlib.blake2b(b"%d" % seq, digest_size=64).hexdigest().encode()
    return (digest * (pad_bytes // len(digest) + 1))[:pad_bytes]


def make_value(seq, partition, pad_bytes):
    return value_head(seq, partition) + value_pad(seq, pad_bytes)


def parse_value(value, partition):
    """Returns (seq, length) of a well-formed value for `partition`; raises AssertionError
    naming the bytes otherwise."""
    try:
        seq = int(value[1:10])
    except (TypeError, ValueError):
        raise AssertionError("malformed value %r in partition %d" % (value[:40], partition))
    head = value_head(seq, partition)
    if value[:len(head)] != head or value[len(head):] != value_pad(seq, len(value) - len(head)):
        raise AssertionError("malformed value %r in partition %d (expected head %r)" % (
            value[:40], partition, head))
    return seq, len(value)


# ---------------------------------------------------------------------------------------------
# The producer process.


def producer_main(argv):
    """Produces until SIGTERM (or its bounds), then flushes and exits. Writes one line per
    delivery report to --acks ("A partition offset seq length", "E partition error seq") and one
    per client error ("X fatal name text"); flushes the file after every poll that served
    reports, so a line in the file was acknowledged before the reader saw it."""
    import argparse
    from confluent_kafka import KafkaException, Producer

    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--acks", required=True)
    parser.add_argument("--seconds-max", type=float, default=3600.0)
    parser.add_argument("--messages-max", type=int, default=10_000_000)
    parser.add_argument("--rate", type=float, default=PRODUCE_RATE_DEFAULT, help="records/s at most")
    args = parser.parse_args(argv)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    rng = random.Random(args.seed)
    out = open(args.acks, "w")

    def on_delivery(err, msg):
        value = msg.value()
        if err is None:
            out.write("A %d %d %d %d\n" % (msg.partition(), msg.offset(), int(value[1:10]), len(value)))
        else:
            out.write("E %d %s %d\n" % (msg.partition(), err.name(), int(value[1:10])))

    def on_error(err):
        out.write("X %d %s %s\n" % (int(err.fatal()), err.name(), err.str().replace("\n", " ")))

    config = {
        "bootstrap.servers": args.bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": rng.choice([0, 1, 5, 20]),
        "batch.num.messages": rng.choice([10, 100, 1000]),
        "compression.type": rng.choice(CODECS),
        "max.in.flight": 5,
        # Longer than any restart: a record is retried across crashes, never given up.
        "message.timeout.ms": 300000,
        "queue.buffering.max.messages": 20000,
        "retry.backoff.ms": 20,
        "reconnect.backoff.ms": 10,
        "reconnect.backoff.max.ms": 100,
        "log.connection.close": False,
        "error_cb": on_error,
    }
    print("producer config: %r" % {k: v for k, v in config.items() if k != "error_cb"}, flush=True)
    producer = Producer(config)
    seq = 0
    pending = None
    started = time.monotonic()
    deadline = started + args.seconds_max
    code = 0
    try:
        while not stopping and seq < args.messages_max and time.monotonic() < deadline:
            if seq >= args.rate * (time.monotonic() - started):
                # Over the rate: the log (and each round's read of it) grows at a known pace.
                if producer.poll(0.005):
                    out.flush()
                continue
            if pending is None:
                partition = rng.randrange(args.partitions)
                pending = (partition, make_value(seq, partition, rng.randrange(VALUE_PAD_BYTES_MAX)))
            try:
                producer.produce(args.topic, value=pending[1], partition=pending[0],
                                 on_delivery=on_delivery)
            except BufferError:
                if producer.poll(0.05):
                    out.flush()
                continue
            pending = None
            seq += 1
            if producer.poll(0):
                out.flush()
        left = producer.flush(60)
    except KafkaException as e:
        out.write("X 1 exception %s\n" % str(e).replace("\n", " "))
        code = 3
        left = len(producer)
    out.write("D %d %d\n" % (seq, left))
    out.close()
    print("producer done: %d produced, %d undelivered" % (seq, left), flush=True)
    return code


class ProducerProcess:
    """The producer process of the crash rounds; stopped by its PID."""

    def __init__(self, bootstrap, topic, partitions, seed, workdir, rate=PRODUCE_RATE_DEFAULT):
        self.acks_path = os.path.join(workdir, "producer-acks.txt")
        self.log_path = os.path.join(workdir, "producer.log")
        cmd = [sys.executable, os.path.join(HERE, "test_crash.py"), PRODUCER_FLAG,
               "--bootstrap", bootstrap, "--topic", topic, "--partitions", str(partitions),
               "--seed", str(seed), "--acks", self.acks_path, "--rate", str(rate)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self):
        code = self.proc.poll()
        if code is not None:
            raise AssertionError("producer process exited (code %d); its log ends:\n%s" % (
                code, self.log_tail()))

    def stop(self, timeout_s=90.0):
        """SIGTERM: the producer stops producing, waits for its outstanding records and exits."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("producer did not exit within %.0fs of SIGTERM" % timeout_s)
        assert code == 0, "producer exited with code %d; its log ends:\n%s" % (code, self.log_tail())

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


class AckLog:
    """Reads the producer's delivery reports as they are written (whole lines only)."""

    def __init__(self, path):
        self.path = path
        self.position = 0
        self.acked = {}          # (partition, offset) -> (seq, length)
        self.order = []          # the keys of self.acked in the order they were acknowledged
        self.acked_seqs = set()
        self.errors = []         # delivery reports with an error
        self.fatal = []          # fatal client errors
        self.client_errors = 0   # non-fatal client errors (the broker was down)
        self.problems = []       # the same offset or record acknowledged twice
        self.done = None         # (produced, undelivered) once the producer finished

    def poll(self):
        """Reads new lines; returns the number of acknowledged records so far."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.position)
                data = f.read()
        except FileNotFoundError:
            return len(self.acked)
        end = data.rfind(b"\n") + 1
        self.position += end
        for line in data[:end].decode().splitlines():
            self._line(line.split(" "))
        return len(self.acked)

    def _line(self, fields):
        kind = fields[0]
        if kind == "A":
            partition, offset, seq, length = (int(x) for x in fields[1:5])
            key = (partition, offset)
            if key in self.acked:
                self.problems.append("offset %d of partition %d acknowledged twice: seq %d and %d" % (
                    offset, partition, self.acked[key][0], seq))
            else:
                self.order.append(key)
            if seq in self.acked_seqs:
                self.problems.append("record seq %d acknowledged twice" % seq)
            self.acked[key] = (seq, length)
            self.acked_seqs.add(seq)
        elif kind == "E":
            self.errors.append(" ".join(fields[1:]))
        elif kind == "X":
            if fields[1] == "1":
                self.fatal.append(" ".join(fields[2:]))
            else:
                self.client_errors += 1
        elif kind == "D":
            self.done = (int(fields[1]), int(fields[2]))

    def assert_healthy(self):
        assert not self.fatal, "the producer hit fatal errors: %r" % self.fatal[:5]
        assert not self.errors, "%d records failed delivery, e.g. %r" % (
            len(self.errors), self.errors[:5])
        assert not self.problems, self.problems[:5]


# ---------------------------------------------------------------------------------------------
# Reading a partition end to end.

FETCH_PARTITION_BYTES = 4 << 20
FETCH_ROUNDS_MAX = 100000
FETCH_EMPTY_MAX = 20


def fetch_records(c, topic, partition, offset):
    """One fetch at `offset`; returns (record bytes, high watermark, log start offset)."""
    resp = c.fetch_partition(topic, partition, offset, partition_max_bytes=FETCH_PARTITION_BYTES,
                             max_bytes=2 * FETCH_PARTITION_BYTES, timeout=30.0)
    assert resp["error_code"] == 0, "fetch %s-%d at %d: error %d" % (
        topic, partition, offset, resp["error_code"])
    return resp["records"], resp["high_watermark"], resp["log_start_offset"]


def chunk_batches(topic, partition, data, offset, end):
    """The batches of one fetch response that start below `end`, checked: each starts right
    after the previous one from `offset` (no gap, no overlap), is whole (strict parse, magic 2,
    record count) and ends below `end` (the high watermark sits on a batch boundary)."""
    out = []
    for batch in kproto.parse_batches(data, strict=True):
        if offset >= end:
            break
        assert batch.magic == 2, "%s-%d: batch at %d has magic %d" % (
            topic, partition, batch.base_offset, batch.magic)
        assert batch.base_offset == offset, \
            "%s-%d: expected a batch at offset %d, got one at %d (%s)" % (
                topic, partition, offset, batch.base_offset,
                "a gap" if batch.base_offset > offset else "an overlap")
        assert batch.record_count == batch.last_offset_delta + 1, \
            "%s-%d: batch at %d has %d records and last offset delta %d" % (
                topic, partition, offset, batch.record_count, batch.last_offset_delta)
        assert batch.last_offset < end, "%s-%d: batch %d..%d crosses the high watermark %d" % (
            topic, partition, batch.base_offset, batch.last_offset, end)
        out.append(batch)
        offset = batch.last_offset + 1
    return out


def read_chunks(c, topic, partition, on_chunk, end=None):
    """Reads a partition from offset 0 (its log start must be 0) to its high watermark (as the
    first fetch reported it) or to `end`. Calls on_chunk(offset, data, end) for each fetch
    response; it returns the next offset, or None if the response held nothing to read."""
    offset = 0
    empty = 0
    for _ in range(FETCH_ROUNDS_MAX):
        data, high_watermark, log_start = fetch_records(c, topic, partition, offset)
        if end is None:
            end = high_watermark
            assert log_start == 0, "%s-%d starts at %d, not 0" % (topic, partition, log_start)
        if offset >= end:
            return
        next_offset = on_chunk(offset, data, end)
        if next_offset is None:
            empty += 1
            assert empty < FETCH_EMPTY_MAX, "%s-%d: %d fetches at offset %d (below the high " \
                "watermark %d) returned nothing" % (topic, partition, empty, offset, end)
            continue
        empty = 0
        offset = next_offset
    raise AssertionError("%s-%d: not read to %s after %d fetches (at %d)" % (
        topic, partition, end, FETCH_ROUNDS_MAX, offset))


def batch_values(topic, partition, batch):
    """The record values of a batch after checking its CRC and that its records carry the
    batch's offsets in order."""
    assert batch.crc_ok(), "%s-%d: batch at %d fails its CRC" % (topic, partition, batch.base_offset)
    records = batch.records()
    offsets = [r[0] for r in records]
    assert offsets == list(range(batch.base_offset, batch.last_offset + 1)), \
        "%s-%d: batch at %d has record offsets %r" % (topic, partition, batch.base_offset, offsets[:10])
    return [r[3] for r in records]


def read_values(c, topic, partition, end=None):
    """Every value of a partition, by offset, read and checked end to end."""
    values = []

    def on_chunk(offset, data, chunk_end):
        batches = chunk_batches(topic, partition, data, offset, chunk_end)
        for batch in batches:
            values.extend(batch_values(topic, partition, batch))
        return batches[-1].last_offset + 1 if batches else None

    read_chunks(c, topic, partition, on_chunk, end)
    return values


class LogChecker:
    """Checks the crash topic after each round against the acknowledgements and against what it
    read the round before.

    Each round reads every partition end to end. A fetch response whose bytes it has checked
    before (same fetch offset, same digest) and a batch it has checked before (same offset, same
    digest) are not parsed again, and what was readable last round must be an unchanged prefix of
    what is readable now; so the records acknowledged in earlier rounds are compared again as
    part of that prefix, and only the new records are parsed and looked up one by one. A round
    costs one read of the log plus the new data."""

    def __init__(self, topic, partitions):
        self.topic = topic
        self.partitions = partitions
        self.chunks = [dict() for _ in range(partitions)]    # fetch offset -> (digest, next, codes)
        self.batches = [dict() for _ in range(partitions)]   # base offset -> (digest, codes)
        self.previous = [[] for _ in range(partitions)]      # (seq, length) by offset, last round
        self.seqs = set()                                    # every seq in self.previous
        self.acks_checked = 0                                # acknowledgements checked one by one
        self.record_checks = 0
        self.records_read = 0

    def batch_codes(self, partition, batch):
        digest = hashlib.sha1(batch.raw).digest()
        known = self.batches[partition].get(batch.base_offset)
        if known is not None and known[0] == digest:
            return known[1]
        codes = [parse_value(v, partition) for v in batch_values(self.topic, partition, batch)]
        self.batches[partition][batch.base_offset] = (digest, codes)
        return codes

    def read_partition(self, c, partition):
        """Returns [(seq, length)] by offset, from 0 to the high watermark."""
        known = self.chunks[partition]
        fresh = {}
        codes = []

        def on_chunk(offset, data, end):
            digest = hashlib.sha1(data).digest()
            hit = known.get(offset)
            if hit is not None and hit[0] == digest and hit[1] <= end:
                chunk_codes, next_offset = hit[2], hit[1]
            else:
                batches = chunk_batches(self.topic, partition, data, offset, end)
                if not batches:
                    return None
                chunk_codes = []
                for batch in batches:
                    chunk_codes.extend(self.batch_codes(partition, batch))
                next_offset = batches[-1].last_offset + 1
            fresh[offset] = (digest, next_offset, chunk_codes)
            codes.extend(chunk_codes)
            return next_offset

        read_chunks(c, self.topic, partition, on_chunk)
        self.chunks[partition] = fresh
        return codes

    def check(self, b, acks):
        """Reads every partition and compares it with the acknowledgements polled just before."""
        acks.poll()
        keys = acks.order[:]
        with b.client(timeout=30.0) as c:
            logs = [self.read_partition(c, p) for p in range(self.partitions)]
        problems = []
        for p, log in enumerate(logs):
            before = self.previous[p]
            if log[:len(before)] != before:
                at = next((i for i, (x, y) in enumerate(zip(before, log)) if x != y), len(log))
                problems.append("partition %d: what was readable before the crash changed at "
                                "offset %d (had %d records, now %d)" % (p, at, len(before), len(log)))
                continue
            last = before[-1][0] if before else -1
            for offset in range(len(before), len(log)):
                seq = log[offset][0]
                if seq in self.seqs:
                    problems.append("seq %d appears twice (again at %d-%d)" % (seq, p, offset))
                self.seqs.add(seq)
                if seq <= last:
                    problems.append("out of order at %d-%d: seq %d after %d" % (p, offset, seq, last))
                last = seq
        # Acknowledgements checked in earlier rounds are covered by the prefix comparison.
        for p, offset in keys[self.acks_checked:]:
            code = acks.acked[(p, offset)]
            log = logs[p]
            if offset >= len(log):
                problems.append("acknowledged record seq %d at %d-%d is past the end (%d)" % (
                    code[0], p, offset, len(log)))
            elif log[offset] != code:
                problems.append("at %d-%d: acknowledged seq %d (%d bytes), found seq %d (%d bytes)" % (
                    p, offset, code[0], code[1], log[offset][0], log[offset][1]))
        assert not problems, "%d problems after a crash, e.g.:\n  %s" % (
            len(problems), "\n  ".join(problems[:10]))
        self.previous = logs
        self.acks_checked = len(keys)
        self.record_checks += len(keys)
        read = sum(len(log) for log in logs)
        self.records_read += read
        return len(keys), read


# ---------------------------------------------------------------------------------------------
# The crash rounds (also run by soak_crash.py).


def stderr_events(b, event, since=0):
    """The lines of broker `b`'s stderr (from character `since`) logging `event`."""
    return [line for line in b.stderr_text()[since:].splitlines() if ("event=%s " % event) in line + " "]


def crash_seed():
    text = os.environ.get("SLUICE_CRASH_SEED")
    return int(text) if text else random.SystemRandom().randrange(1, 1 << 31)


def crash_rounds_default():
    return int(os.environ.get("SLUICE_CRASH_ROUNDS") or ROUNDS_DEFAULT)


def wait_acks(b, producer, acks, target, timeout_s, what):
    """Polls the acknowledgements until there are `target`; fails at once if the broker or the
    producer died or the producer reported a fatal error."""
    deadline = time.monotonic() + timeout_s
    while acks.poll() < target:
        if not b.running():
            raise harness.BrokerDied("broker exited (code %s) while waiting for %s" % (
                b.last_exit_code if b.proc is None else b.proc.returncode, what))
        producer.check_alive()
        assert not acks.fatal, "the producer hit fatal errors: %r" % acks.fatal[:5]
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s (%d of %d acknowledged); "
                                 "producer log ends:\n%s" % (timeout_s, what, len(acks.acked), target,
                                                             producer.log_tail()))
        time.sleep(0.02)


def restart_after_kill(b, topic, rng, stats):
    """SIGKILL, start on the same data directory and port, wait for the topic. One restart in
    four is killed again a random moment after it is ready (while the producer's retries
    arrive) and started once more."""
    b.kill()
    stats["kills"] += 1
    b.start()
    b.wait_topic(topic, CRASH_PARTITIONS, timeout_s=30)
    if rng.random() < 0.25:
        time.sleep(rng.uniform(0.0, 0.05))  # the moment of the second kill, on purpose
        b.kill()
        stats["kills"] += 1
        b.start()
        b.wait_topic(topic, CRASH_PARTITIONS, timeout_s=30)


def run_crash_rounds(rounds, seed, flush_mode="durable", rate=PRODUCE_RATE_DEFAULT, say=print):
    """SIGKILLs and restarts a broker under an idempotent producer `rounds` times and checks the
    log after each restart; returns the figures. Raises AssertionError on the first problem."""
    rng = random.Random(seed)
    topic = "crash"
    say("crash rounds: seed=%d rounds=%d flush.mode=%s (replay: SLUICE_CRASH_SEED=%d)" % (
        seed, rounds, flush_mode, seed))
    started = time.monotonic()
    stats = {"seed": seed, "rounds": 0, "kills": 0, "flush_mode": flush_mode}
    with Broker({"flush.mode": flush_mode, "num.partitions": CRASH_PARTITIONS},
                name="crash") as b:
        b.create_topic(topic, CRASH_PARTITIONS, {"segment.bytes": str(SEGMENT_BYTES)})
        producer = ProducerProcess(b.bootstrap, topic, CRASH_PARTITIONS, rng.randrange(1 << 31),
                                   b.workdir, rate)
        acks = AckLog(producer.acks_path)
        checker = LogChecker(topic, CRASH_PARTITIONS)
        checking = False
        try:
            for round_index in range(rounds):
                kill_after = rng.randint(20, 3000)
                resume_after = rng.randint(1, 400)
                kill_delay_s = rng.uniform(0.0, 0.03)
                wait_acks(b, producer, acks, acks.poll() + kill_after, 120,
                          "%d acknowledgements before crash %d" % (kill_after, round_index + 1))
                # A random moment after the count, so the kill lands anywhere in the produce,
                # flush and roll paths (a delay on purpose, not a synchronization).
                time.sleep(kill_delay_s)
                restart_after_kill(b, topic, rng, stats)
                # The producer reconnected and its retries of in-flight batches were answered.
                wait_acks(b, producer, acks, acks.poll() + resume_after, 120,
                          "%d acknowledgements after restart %d" % (resume_after, round_index + 1))
                checking = True
                acked, read = checker.check(b, acks)
                checking = False
                acks.assert_healthy()
                stats["rounds"] = round_index + 1
                say("round %d/%d: killed after %d more acks; %d acknowledged records checked, %d "
                    "records read; %.0fs" % (round_index + 1, rounds, kill_after, acked, read,
                                             time.monotonic() - started))
            producer.stop()
            acks.poll()
            assert acks.done is not None and acks.done[1] == 0, \
                "producer finished with undelivered records: %r" % (acks.done,)
            checking = True
            checker.check(b, acks)
            acks.assert_healthy()
        except BaseException:
            say("crash rounds failed in round %d; seed=%d (replay: SLUICE_CRASH_SEED=%d); producer "
                "log ends:\n%s" % (stats["rounds"] + 1, seed, seed, producer.log_tail()))
            if not checking and b.running():
                # Say what the log looks like, when the failure was not the check itself (the
                # producer died, say, after the broker lost what it had acknowledged).
                try:
                    checker.check(b, acks)
                    say("the log check at the failure found nothing wrong")
                except Exception as e:  # noqa: BLE001 - reporting only
                    say("the log check at the failure: %s" % e)
            raise
        finally:
            producer.kill()
        stats["record_checks"] = checker.record_checks
        stats["acked"] = len(acks.acked)
        stats["records_read"] = checker.records_read
        stats["produced"] = acks.done[0]
        stats["client_errors"] = acks.client_errors
        stats["truncated_tails"] = len(stderr_events(b, "storage.truncated_torn_tail"))
        stats["seconds"] = time.monotonic() - started
    say("crash rounds (flush.mode=%(flush_mode)s) survived: %(rounds)d rounds, %(kills)d SIGKILLs "
        "(seed %(seed)d); records produced %(produced)d, acknowledged %(acked)d; acknowledged-record "
        "checks over all rounds %(record_checks)d; records read back %(records_read)d; torn tails "
        "truncated by recovery %(truncated_tails)d; %(seconds).0fs" % stats)
    return stats


def _crash_test_timeout_s():
    return max(240, 20 * crash_rounds_default())


@harness.timeout(_crash_test_timeout_s())
def test_crash_rounds_durable():
    """flush.mode=durable: acks=all answers wait for fdatasync (the crash-round checks above)."""
    stats = run_crash_rounds(crash_rounds_default(), crash_seed(), "durable")
    assert stats["rounds"] == crash_rounds_default()
    assert stats["acked"] > 0


@harness.timeout(_crash_test_timeout_s())
def test_crash_rounds_async():
    """flush.mode=async: answers after the page-cache write, which a process crash keeps too, so
    the same checks hold; fewer rounds."""
    rounds = max(3, crash_rounds_default() // 3)
    stats = run_crash_rounds(rounds, crash_seed(), "async")
    assert stats["rounds"] == rounds


# ---------------------------------------------------------------------------------------------
# Torn tails written on purpose.


def produce_confluent_idempotent(bootstrap, topic, partitions, count, rng):
    """Produces `count` records (values from make_value) with an idempotent producer, acks=all;
    returns {(partition, offset): value} from the delivery reports."""
    from confluent_kafka import Producer
    acked = {}
    errors = []

    def on_delivery(err, msg):
        if err is None:
            acked[(msg.partition(), msg.offset())] = msg.value()
        else:
            errors.append(str(err))

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "linger.ms": 5, "batch.num.messages": 200, "message.timeout.ms": 60000})
    for seq in range(count):
        partition = rng.randrange(partitions)
        value = make_value(seq, partition, rng.randrange(VALUE_PAD_BYTES_MAX))
        for _ in range(1000):
            try:
                producer.produce(topic, value=value, partition=partition, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        else:
            raise AssertionError("producer queue stayed full")
        producer.poll(0)
    assert producer.flush(60) == 0, "records not delivered within 60s"
    assert not errors, errors[:5]
    assert len(acked) == count, (len(acked), count)
    return acked


def segment_logs(b, topic, partition):
    d = b.partition_dir(topic, partition)
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".log"))


def last_batch(path):
    """The last whole batch of a segment file (with .position), checked to end the file."""
    with open(path, "rb") as f:
        data = f.read()
    batches = kproto.parse_batches(data, strict=True)
    assert batches, "no batch in %s" % path
    return batches[-1], len(data)


def damage_tail(path, kind, rng):
    """Damages the end of a segment file; returns (first offset destroyed, description). For
    "append" nothing is destroyed: the log end offset."""
    batch, size = last_batch(path)
    if kind == "append":
        garbage = bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
        with open(path, "ab") as f:
            f.write(garbage)
        return batch.last_offset + 1, "appended %d random bytes" % len(garbage)
    if kind == "cut":
        cut = rng.randint(1, len(batch.raw) - 1)
        os.truncate(path, size - cut)
        return batch.base_offset, "cut %d of the %d bytes of the last batch (offsets %d..%d)" % (
            cut, len(batch.raw), batch.base_offset, batch.last_offset)
    if kind == "flip":
        # Past the CRC field (the CRC covers the batch from its attributes, byte 21, on).
        at = batch.position + rng.randrange(21, len(batch.raw))
        with open(path, "r+b") as f:
            f.seek(at)
            byte = f.read(1)[0]
            f.seek(at)
            f.write(bytes([byte ^ (1 << rng.randrange(8))]))
        return batch.base_offset, "flipped a bit at byte %d of the last batch (offsets %d..%d)" % (
            at - batch.position, batch.base_offset, batch.last_offset)
    raise ValueError(kind)


@harness.timeout(120)
def test_crash_torn_tails():
    """After a SIGKILL, three partitions get a damaged last segment (random bytes appended, the
    last batch cut short, a bit flipped in the last batch) and the fourth none. The restarted
    broker logs storage.truncated_torn_tail for exactly the three, keeps every acknowledged
    record before the damage at its offset, appends new records right after it, and a second
    crash finds the repaired log unchanged."""
    seed = crash_seed()
    rng = random.Random(seed)
    print("torn tails: seed=%d (replay: SLUICE_CRASH_SEED=%d)" % (seed, seed))
    topic = "torn"
    partitions = 4
    kinds = {0: "append", 1: "cut", 2: "flip"}
    with Broker({"flush.mode": "durable", "num.partitions": partitions}, name="crash-torn") as b:
        b.create_topic(topic, partitions, {"segment.bytes": str(SEGMENT_BYTES)})
        acked = produce_confluent_idempotent(b.bootstrap, topic, partitions, 12000, rng)
        ends = {p: 1 + max(o for (pp, o) in acked if pp == p) for p in range(partitions)}
        b.kill()
        keep_before = dict(ends)
        damaged = {}
        for p, kind in kinds.items():
            logs = segment_logs(b, topic, p)
            assert len(logs) >= 2, "partition %d did not roll: %r" % (p, logs)
            keep_before[p], what = damage_tail(logs[-1], kind, rng)
            damaged[logs[-1]] = p
            print("partition %d: %s in %s" % (p, what, os.path.basename(logs[-1])))
        mark = len(b.stderr_text())
        b.start()
        b.wait_topic(topic, partitions)
        truncated = stderr_events(b, "storage.truncated_torn_tail", mark)
        for path, p in damaged.items():
            assert any(("path=%s " % path) in line + " " for line in truncated), \
                "no storage.truncated_torn_tail for partition %d (%s): %r" % (p, path, truncated)
        assert len(truncated) == len(damaged), \
            "truncations beyond the damaged partitions: %r" % truncated
        with b.client() as c:
            logs = {p: read_values(c, topic, p) for p in range(partitions)}
            for p in range(partitions):
                assert len(logs[p]) == keep_before[p], \
                    "partition %d (%s) ends at %d after recovery, expected %d" % (
                        p, kinds.get(p, "intact"), len(logs[p]), keep_before[p])
            lost = [(p, o) for (p, o), v in acked.items() if o < keep_before[p] and logs[p][o] != v]
            assert not lost, "%d acknowledged records before the damage lost or changed, e.g. %r" % (
                len(lost), lost[:5])
            for p in range(partitions):
                for offset, value in enumerate(logs[p]):
                    parse_value(value, p)
            # New records go right after the last whole batch and read back.
            for p in range(partitions):
                value = make_value(1_000_000 + p, p, 10)
                resp = c.produce_one(topic, p, build_batch([Record(value)]))
                assert (resp["error_code"], resp["base_offset"]) == (0, keep_before[p]), \
                    "produce to partition %d after recovery: %r, expected offset %d" % (
                        p, resp, keep_before[p])
                logs[p].append(value)
            for p in range(partitions):
                assert read_values(c, topic, p) == logs[p], "partition %d differs after new produces" % p
        # The repaired log survives another crash unchanged, with nothing more to cut.
        b.kill()
        mark = len(b.stderr_text())
        b.start()
        b.wait_topic(topic, partitions)
        again = stderr_events(b, "storage.truncated_torn_tail", mark)
        assert not again, "a repaired log was truncated again: %r" % again
        with b.client() as c:
            for p in range(partitions):
                assert read_values(c, topic, p) == logs[p], "partition %d changed on a second crash" % p


# ---------------------------------------------------------------------------------------------
# Injected storage faults (storage.faults). Raw produces, one record per request and batch, so
# the n-th write of a segment file is the n-th produce.


def fault_value(topic, i):
    return b"%s-%d" % (topic.encode(), i)


def produce_raw(c, topic, partition, value):
    return c.produce_one(topic, partition, build_batch([Record(value)]))


def fetch_error(c, topic, partition, offset=0):
    return c.fetch_partition(topic, partition, offset)["error_code"]


def segment_log_path(topic, partition):
    return "%s-%d/00000000000000000000.log" % (topic, partition)


def restart_without_faults(b, clean=True):
    """Restarts broker `b` with storage.faults removed; returns the stderr position before the
    start. A clean stop must not crash even with a log offline."""
    b.overrides.pop("storage.faults", None)
    if clean:
        code = b.stop()
        assert code is not None and code >= 0, "the broker died on SIGTERM with a log offline: %r" % code
    else:
        b.kill()
    mark = len(b.stderr_text())
    b.start()
    return mark


def produce_with_healthy(c, topic, healthy, count, start=0):
    """Produces `count` records to topic and healthy, one each per step; the healthy topic must
    take every one. Returns [(index, error code, base offset)] for `topic`."""
    results = []
    for i in range(start, start + count):
        resp = produce_raw(c, topic, 0, fault_value(topic, i))
        results.append((i, resp["error_code"], resp["base_offset"]))
        h = produce_raw(c, healthy, 0, fault_value(healthy, i))
        assert (h["error_code"], h["base_offset"]) == (0, i), \
            "the healthy topic failed while %s had faults: %r" % (topic, h)
    return results


def assert_healthy_topic(c, healthy, count):
    values = read_values(c, healthy, 0)
    assert values == [fault_value(healthy, i) for i in range(count)], "healthy topic differs"


@harness.timeout(60)
def test_storage_fault_eio_takes_partition_offline():
    """A segment write fails with EIO after 5 good ones: the 6th and every later produce to that
    partition get KAFKA_STORAGE_ERROR, its fetch too, another topic keeps working, the broker
    keeps running; a restart without faults serves the 5 acknowledged records and new ones."""
    topic, healthy = "faulty", "healthy"
    faults = "pwrite:EIO:path=%s:after=5" % segment_log_path(topic, 0)
    with Broker({"flush.mode": "durable", "storage.faults": faults}, name="fault-eio") as b:
        b.create_topic(topic, 1)
        b.create_topic(healthy, 1)
        with b.client() as c:
            results = produce_with_healthy(c, topic, healthy, 12)
            codes = [r[1] for r in results]
            assert codes == [0] * 5 + [KAFKA_STORAGE_ERROR] * 7, "produce errors: %r" % codes
            assert [r[2] for r in results[:5]] == list(range(5)), results[:5]
            assert fetch_error(c, topic, 0) == KAFKA_STORAGE_ERROR, "fetch of the offline partition"
            assert_healthy_topic(c, healthy, 12)
        b.assert_alive("an EIO on one partition")
        assert any("faulty-0" in line for line in stderr_events(b, "storage.log_offline")), \
            "no storage.log_offline for faulty-0"
        restart_without_faults(b)
        b.wait_topic(topic, 1)
        with b.client() as c:
            assert read_values(c, topic, 0) == [fault_value(topic, i) for i in range(5)]
            resp = produce_raw(c, topic, 0, b"after-restart")
            assert (resp["error_code"], resp["base_offset"]) == (0, 5), resp
            assert read_values(c, topic, 0)[-1] == b"after-restart"
            assert_healthy_topic(c, healthy, 12)


@harness.timeout(60)
def test_storage_fault_enospc_keeps_serving():
    """Two segment writes fail with ENOSPC: those two produces get KAFKA_STORAGE_ERROR, the log
    stays online, the next produces take the next offsets and the log holds exactly the
    acknowledged records, before and after a crash."""
    topic, healthy = "nospace", "healthy"
    faults = "pwrite:ENOSPC:path=%s:after=3:count=2" % segment_log_path(topic, 0)
    with Broker({"flush.mode": "durable", "storage.faults": faults}, name="fault-enospc") as b:
        b.create_topic(topic, 1)
        b.create_topic(healthy, 1)
        with b.client() as c:
            results = produce_with_healthy(c, topic, healthy, 10)
            codes = [r[1] for r in results]
            assert codes == [0, 0, 0, KAFKA_STORAGE_ERROR, KAFKA_STORAGE_ERROR, 0, 0, 0, 0, 0], codes
            acked = [r for r in results if r[1] == 0]
            assert [r[2] for r in acked] == list(range(8)), "offsets of the acknowledged: %r" % acked
            expected = [fault_value(topic, r[0]) for r in acked]
            assert read_values(c, topic, 0) == expected, "log differs from the acknowledged records"
            assert_healthy_topic(c, healthy, 10)
        assert not stderr_events(b, "storage.log_offline"), "ENOSPC took a log offline"
        mark = restart_without_faults(b, clean=False)
        b.wait_topic(topic, 1)
        cut = stderr_events(b, "storage.truncated_torn_tail", mark)
        assert not cut, "the failed writes left bytes for recovery to cut: %r" % cut
        with b.client() as c:
            assert read_values(c, topic, 0) == expected
            resp = produce_raw(c, topic, 0, b"after-restart")
            assert (resp["error_code"], resp["base_offset"]) == (0, 8), resp


@harness.timeout(60)
def test_storage_fault_short_write_is_cut_back():
    """A short write (half the batch reaches the file, the call fails): that produce gets
    KAFKA_STORAGE_ERROR, the half batch is cut off at once, later produces take the next offsets,
    and a crash finds no torn tail."""
    topic, healthy = "short", "healthy"
    faults = "pwrite:short:path=%s:after=3:count=1" % segment_log_path(topic, 0)
    with Broker({"flush.mode": "durable", "storage.faults": faults}, name="fault-short") as b:
        b.create_topic(topic, 1)
        b.create_topic(healthy, 1)
        with b.client() as c:
            results = produce_with_healthy(c, topic, healthy, 8)
            codes = [r[1] for r in results]
            assert codes == [0, 0, 0, KAFKA_STORAGE_ERROR, 0, 0, 0, 0], codes
            acked = [r for r in results if r[1] == 0]
            assert [r[2] for r in acked] == list(range(7)), acked
            expected = [fault_value(topic, r[0]) for r in acked]
            assert read_values(c, topic, 0) == expected
        size = os.path.getsize(os.path.join(b.data_dir, segment_log_path(topic, 0)))
        mark = restart_without_faults(b, clean=False)
        b.wait_topic(topic, 1)
        assert not stderr_events(b, "storage.truncated_torn_tail", mark), \
            "the short write was not cut back (recovery cut %r; file was %d bytes)" % (
                stderr_events(b, "storage.truncated_torn_tail", mark), size)
        with b.client() as c:
            assert read_values(c, topic, 0) == expected


@harness.timeout(60)
def test_storage_fault_short_write_not_cut_back():
    """A short write whose cut-back (ftruncate) fails too leaves half a batch in the file: the
    partition goes offline, and the restart cuts the torn tail and serves every acknowledged
    record, then new ones at the next offset."""
    topic, healthy = "torn", "healthy"
    path = segment_log_path(topic, 0)
    faults = "pwrite:short:path=%s:after=3:count=1;ftruncate:EIO:path=%s" % (path, path)
    with Broker({"flush.mode": "durable", "storage.faults": faults}, name="fault-torn") as b:
        b.create_topic(topic, 1)
        b.create_topic(healthy, 1)
        with b.client() as c:
            results = produce_with_healthy(c, topic, healthy, 6)
            codes = [r[1] for r in results]
            assert codes == [0, 0, 0] + [KAFKA_STORAGE_ERROR] * 3, codes
            assert fetch_error(c, topic, 0) == KAFKA_STORAGE_ERROR
            assert_healthy_topic(c, healthy, 6)
        b.assert_alive("a short write that could not be cut back")
        mark = restart_without_faults(b, clean=False)
        b.wait_topic(topic, 1)
        cut = stderr_events(b, "storage.truncated_torn_tail", mark)
        assert any(path in line for line in cut), "the torn half batch was not cut: %r" % cut
        with b.client() as c:
            assert read_values(c, topic, 0) == [fault_value(topic, i) for i in range(3)]
            resp = produce_raw(c, topic, 0, b"after-restart")
            assert (resp["error_code"], resp["base_offset"]) == (0, 3), resp


@harness.timeout(60)
def test_storage_fault_fdatasync_eio():
    """durable mode: the sync after the 4th produce fails. That acks=all produce gets
    KAFKA_STORAGE_ERROR, the partition goes offline (produce and fetch), the other topic keeps
    working; after a restart without faults the 3 acknowledged records are there and new
    produces work."""
    topic, healthy = "unsynced", "healthy"
    faults = "fdatasync:EIO:path=%s:after=3" % segment_log_path(topic, 0)
    with Broker({"flush.mode": "durable", "storage.faults": faults}, name="fault-sync") as b:
        b.create_topic(topic, 1)
        b.create_topic(healthy, 1)
        with b.client() as c:
            results = produce_with_healthy(c, topic, healthy, 7)
            codes = [r[1] for r in results]
            assert codes == [0, 0, 0] + [KAFKA_STORAGE_ERROR] * 4, codes
            assert [r[2] for r in results[:3]] == [0, 1, 2], results
            assert fetch_error(c, topic, 0) == KAFKA_STORAGE_ERROR
            assert_healthy_topic(c, healthy, 7)
        assert any("unsynced-0" in line for line in stderr_events(b, "storage.log_offline")), \
            "no storage.log_offline for unsynced-0"
        restart_without_faults(b)
        b.wait_topic(topic, 1)
        with b.client() as c:
            values = read_values(c, topic, 0)
            # The record whose sync failed was never acknowledged: it may or may not be there.
            assert values[:3] == [fault_value(topic, i) for i in range(3)], values
            assert values[3:] in ([], [fault_value(topic, 3)]), values
            resp = produce_raw(c, topic, 0, b"after-restart")
            assert (resp["error_code"], resp["base_offset"]) == (0, len(values)), resp


@harness.timeout(60)
def test_storage_fault_syncfs_at_clean_stop():
    """A clean stop closes every log without fsyncs and then syncs the file system once. When
    that syncfs fails, the stop writes no .kafka_cleanshutdown marker (nothing of the closes is
    trusted), and the next start recovers the logs and serves every acknowledged record."""
    topic = "stopsync"
    with Broker({"storage.faults": "syncfs:EIO"}, name="fault-syncfs") as b:
        b.create_topic(topic, 2)
        with b.client() as c:
            for i in range(6):
                resp = produce_raw(c, topic, i % 2, fault_value(topic, i))
                assert resp["error_code"] == 0, resp
        mark = restart_without_faults(b)
        log = b.stderr_text()
        assert "event=log_dir_sync_failed" in log[:mark], "the stop did not report the failed syncfs"
        assert "clean_shutdown=false" in log[mark:], "the start after a failed syncfs trusted the close"
        b.wait_topic(topic, 2)
        with b.client() as c:
            assert read_values(c, topic, 0) == [fault_value(topic, i) for i in (0, 2, 4)]
            assert read_values(c, topic, 1) == [fault_value(topic, i) for i in (1, 3, 5)]


def dump_batches(c, topic, partition):
    """[(base offset, values)] of the first fetch from offset 0, unchecked (for messages)."""
    data, _hw, _start = fetch_records(c, topic, partition, 0)
    return [(batch.base_offset, [r[3] for r in batch.records()]) for batch in kproto.parse_batches(data)]


def assert_acked_at(values, acked, when):
    """Every (offset, value) in `acked` is at its offset in `values`, and no value is twice."""
    wrong = [(o, v, values[o] if o < len(values) else None) for o, v in acked
             if o >= len(values) or values[o] != v]
    assert not wrong, "%s: %d of %d acknowledged records are not at their offsets (offset, " \
        "acknowledged, found): %r; log: %r" % (when, len(wrong), len(acked), wrong[:5], values[:10])
    assert len(set(values)) == len(values), "%s: a record is in the log twice: %r" % (when, values)


@harness.timeout(60)
def test_storage_fault_epoch_checkpoint_write():
    """The first produce to a partition also writes its leader-epoch-checkpoint. An EIO there
    may fail that produce, but must not leave its batch in the log under an offset that the next
    produce is given too: every acknowledged record is read at its offset, offsets are
    contiguous and no record is there twice, before and after a crash."""
    topic, healthy = "epoch", "healthy"
    faults = "pwrite:EIO:path=%s-0/leader-epoch-checkpoint:count=1" % topic
    with Broker({"flush.mode": "durable", "storage.faults": faults}, name="fault-epoch") as b:
        b.create_topic(topic, 1)
        b.create_topic(healthy, 1)
        with b.client() as c:
            results = produce_with_healthy(c, topic, healthy, 5)
            print("produce results (index, error, offset): %r" % results)
            acked = [(offset, fault_value(topic, i)) for i, code, offset in results if code == 0]
            if fetch_error(c, topic, 0) == KAFKA_STORAGE_ERROR:
                # Taking the log offline is one right answer: then nothing after the failure was
                # accepted.
                failed = [i for i, code, _offset in results if code != 0]
                assert failed and all(code != 0 for _i, code, _o in results[failed[0]:]), \
                    "the partition is offline but accepted produces after its failure: %r" % results
            else:
                print("log before the restart (batch offset, values): %r" % dump_batches(c, topic, 0))
                assert_acked_at(read_values(c, topic, 0), acked, "before the restart")
            assert_healthy_topic(c, healthy, 5)
        b.assert_alive("an EIO on the leader-epoch-checkpoint")
        restart_without_faults(b, clean=False)
        b.wait_topic(topic, 1)
        with b.client() as c:
            print("log after the restart (batch offset, values): %r" % dump_batches(c, topic, 0))
            assert_acked_at(read_values(c, topic, 0), acked, "after a SIGKILL and restart")


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == PRODUCER_FLAG:
    sys.exit(producer_main(sys.argv[2:]))
