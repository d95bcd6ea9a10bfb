"""tools/sluice-dump (our kafka-dump-log.sh) on segments the real broker wrote: confluent-kafka
produces keyed records with headers and explicit timestamps under each codec (one partition per
codec, one idempotent producer), and commits a group offset; the broker is stopped cleanly and
the dump tool reads its files.  Checked: batch offsets, counts, codecs and CRC validity; in deep
mode every record's offset, timestamp, key, payload and header keys; --verify-index-only passes
on the real .index/.timeindex and fails on corrupted copies; the producer snapshot, checkpoints
and __consumer_offsets (with --offsets-decoder) decode."""

import glob
import os
import re
import shutil
import struct

import harness
from harness import Broker

from confluent_kafka import Consumer, Producer, TopicPartition

TOOL = os.environ.get("SLUICE_DUMP_BIN") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(harness.SLUICE_BIN))), "tools", "sluice-dump")
BASE_TS = 1_600_000_000_000
RECORDS = 300
TOPIC = "dump-it"
GROUP = "dump-group"
# Small index interval so a few hundred records give many index entries.
BROKER_CONFIG = {"log.index.interval.bytes": 256}

BATCH_RE = re.compile(r"^baseOffset: (-?\d+) lastOffset: (-?\d+) count: (\d+) baseSequence: (-?\d+) "
                      r"lastSequence: (-?\d+) producerId: (-?\d+) producerEpoch: (-?\d+) "
                      r"partitionLeaderEpoch: (-?\d+) isTransactional: (\w+) isControl: (\w+) "
                      r"deleteHorizonMs: \S+ position: (\d+) (CreateTime|LogAppendTime): (-?\d+) "
                      r"size: (\d+) magic: (\d+) compresscodec: (\w+) crc: (\d+) isvalid: (\w+)$")
RECORD_RE = re.compile(r"^\| offset: (\d+) CreateTime: (-?\d+) keySize: (-?\d+) valueSize: (-?\d+) "
                       r"sequence: (-?\d+) headerKeys: \[([^\]]*)\] key: (\S+) payload: (\S+)$")


def tool(*args, check_code=None):
    """Runs sluice-dump; returns (exit code, stdout, stderr) as text."""
    if not os.access(TOOL, os.X_OK):
        raise harness.Skip("%s not built (set SLUICE_DUMP_BIN)" % TOOL)
    p = harness.run([TOOL] + list(args), timeout_s=120, check=False)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if check_code is not None:
        assert p.returncode == check_code, "exit %d, wanted %d\nstdout: %s\nstderr: %s" % (
            p.returncode, check_code, out[-3000:], err[-3000:])
    return p.returncode, out, err


def produce_all(broker):
    """RECORDS records into partition p with codec CODECS[p]; partition 0 (none) idempotent."""
    for p, codec in enumerate(harness.CODECS):
        conf = {"bootstrap.servers": broker.bootstrap, "compression.type": codec, "linger.ms": 20,
                "batch.num.messages": 50, "message.timeout.ms": 30000, "acks": "all"}
        if p == 0:
            conf["enable.idempotence"] = True
        producer = Producer(conf)
        errors = []
        for i in range(RECORDS):
            producer.produce(TOPIC, key=b"k%d" % i, value=b"v-%s-%d" % (codec.encode(), i), partition=p,
                             headers=[("h", b"x")], timestamp=BASE_TS + i,
                             on_delivery=lambda err, msg: errors.append(err) if err else None)
        assert producer.flush(60) == 0, "not all records delivered within 60s"
        assert not errors, errors[:3]


def commit_group_offset(broker):
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": GROUP, "enable.auto.commit": False,
                         "socket.timeout.ms": 10000})
    try:
        consumer.commit(offsets=[TopicPartition(TOPIC, 1, 123)], asynchronous=False)
    finally:
        consumer.close()


def write_data_dir(while_running=None):
    """Starts a broker, writes the data, calls while_running(broker) if given, stops the broker
    cleanly; returns it. The caller closes the broker (which removes the directory)."""
    b = Broker(BROKER_CONFIG, name="dump-log")
    b.start()
    try:
        b.create_topic(TOPIC, len(harness.CODECS))
        produce_all(b)
        commit_group_offset(b)
        if while_running is not None:
            while_running(b)
    except BaseException:
        b.dump_stderr()
        b.close()
        raise
    code = b.stop()
    assert code == 0, "broker exit code %s" % code
    return b


def segment(b, partition, suffix):
    return os.path.join(b.partition_dir(TOPIC, partition), "%020d%s" % (0, suffix))


def batches(out):
    rows = [BATCH_RE.match(line) for line in out.splitlines() if line.startswith("baseOffset:")]
    assert all(rows), [line for line in out.splitlines() if line.startswith("baseOffset:")][:3]
    return rows


def test_batches_and_records_of_every_codec():
    """Shallow: offsets 0..RECORDS-1 in increasing, contiguous batches, every batch valid, of the
    partition's codec; producer ids only on the idempotent partition.  Deep: every record with
    its timestamp, key, payload, sequence and header keys, in order."""
    b = write_data_dir()
    try:
        for p, codec in enumerate(harness.CODECS):
            _, out, err = tool(segment(b, p, ".log"), check_code=0)
            rows = batches(out)
            assert len(rows) >= 2, "expected several batches, got %d" % len(rows)
            expected_base = 0
            for m in rows:
                assert int(m.group(1)) == expected_base, (p, m.group(0))
                expected_base = int(m.group(2)) + 1
                # librdkafka sends a batch uncompressed when compression would not shrink it
                # (a lone small record), so "none" may appear beside the partition's codec.
                assert m.group(16) in (codec, "none"), (codec, m.group(0))
                assert m.group(18) == "true", m.group(0)
                assert m.group(15) == "2"
                assert (int(m.group(6)) >= 0) == (p == 0), m.group(0)
            assert expected_base == RECORDS
            compressed = sum(int(m.group(3)) for m in rows if m.group(16) == codec)
            assert compressed >= RECORDS // 2, "only %d of %d records in %s batches" % (compressed, RECORDS, codec)
            assert sum(int(m.group(3)) for m in rows) == RECORDS
            assert "Summary: batches: %d records: %d firstOffset: 0 lastOffset: %d" % (
                len(rows), RECORDS, RECORDS - 1) in out, out[-500:]

            _, deep, err = tool("--print-data-log", "--files", segment(b, p, ".log"), check_code=0)
            records = [RECORD_RE.match(line) for line in deep.splitlines() if line.startswith("| ")]
            assert len(records) == RECORDS and all(records), deep[-2000:]
            for i, m in enumerate(records):
                assert int(m.group(1)) == i
                assert int(m.group(2)) == BASE_TS + i
                assert m.group(7) == "k%d" % i and m.group(8) == "v-%s-%d" % (codec, i), m.group(0)
                assert m.group(6) == "h"
                assert int(m.group(3)) == len("k%d" % i)
                assert int(m.group(5)) == (i if p == 0 else -1), m.group(0)
            assert "Non-consecutive" not in err, err
    finally:
        b.close()


def check_live_segment(b):
    """The active segment of a running broker: its indexes are preallocated (a zero tail), which
    is not a problem, and they verify against the log as it is now (nothing is produced)."""
    index, time_index = segment(b, 1, ".index"), segment(b, 1, ".timeindex")
    assert os.path.getsize(index) > 8 * 64, "expected a preallocated index, got %d bytes" % os.path.getsize(index)
    _, out, err = tool("--verify-index-only", index, time_index, check_code=0)
    assert err == "", err
    _, out, _ = tool(segment(b, 1, ".log"), check_code=0)
    assert "lastOffset: %d " % (RECORDS - 1) in out, out[-1000:]


def test_verify_index_passes_on_real_segments_and_fails_on_corrupted_copies():
    b = write_data_dir(while_running=check_live_segment)
    try:
        for p in range(len(harness.CODECS)):
            index, time_index = segment(b, p, ".index"), segment(b, p, ".timeindex")
            _, out, _ = tool(index, time_index, check_code=0)
            entries = [line for line in out.splitlines() if line.startswith("offset: ")]
            time_entries = [line for line in out.splitlines() if line.startswith("timestamp: ")]
            assert entries and time_entries, "no index entries in partition %d:\n%s" % (p, out)
            _, out, err = tool("--verify-index-only", index, time_index, check_code=0)
            assert not [line for line in out.splitlines() if line.startswith(("offset:", "timestamp:"))], out
            assert err == "", err
            tool("--index-sanity-check", index, time_index, check_code=0)

        # Corrupted copies of partition 2's files (snappy).
        work = os.path.join(b.workdir, "corrupt")
        os.makedirs(work)
        for suffix in (".log", ".index", ".timeindex"):
            shutil.copy(segment(b, 2, suffix), work)
        index = os.path.join(work, "%020d.index" % 0)
        with open(index, "r+b") as f:
            f.seek(4)  # entry 0's position, one byte into its batch
            (position,) = struct.unpack(">I", f.read(4))
            f.seek(4)
            f.write(struct.pack(">I", position + 1))
        _, _, err = tool("--verify-index-only", index, check_code=1)
        assert "Mismatches in :" in err and "log offset: -1" in err, err

        time_index = os.path.join(work, "%020d.timeindex" % 0)
        with open(time_index, "r+b") as f:
            (ts,) = struct.unpack(">q", f.read(8))
            f.seek(0)
            f.write(struct.pack(">q", ts + 1))
        _, _, err = tool("--verify-index-only", time_index, check_code=1)
        assert "Found timestamp mismatch in :" in err and "Index timestamp: %d, log timestamp: %d" % (ts + 1, ts) in err, err

        log = os.path.join(work, "%020d.log" % 0)
        size = os.path.getsize(log)
        with open(log, "r+b") as f:
            f.truncate(size - 7)
        _, out, _ = tool(log, check_code=1)
        assert "invalid bytes at the end of" in out, out[-1000:]
    finally:
        b.close()


def test_state_files_and_consumer_offsets():
    """The idempotent partition's producer snapshot, the checkpoints, partition.metadata,
    meta.properties and leader-epoch-checkpoint dump cleanly; __consumer_offsets with
    --offsets-decoder shows the committed offset as Kafka's JSON."""
    b = write_data_dir()
    try:
        snapshots = glob.glob(os.path.join(b.partition_dir(TOPIC, 0), "*.snapshot"))
        assert snapshots, os.listdir(b.partition_dir(TOPIC, 0))
        _, out, _ = tool(*snapshots, check_code=0)
        assert re.search(r"producerId: \d+ producerEpoch: 0 .* lastSequence: %d lastOffset: %d" % (
            RECORDS - 1, RECORDS - 1), out), out

        files = [os.path.join(b.data_dir, name) for name in (
            "meta.properties", "recovery-point-offset-checkpoint", "log-start-offset-checkpoint")]
        files += [os.path.join(b.partition_dir(TOPIC, 1), name) for name in ("partition.metadata", "leader-epoch-checkpoint")]
        files = [f for f in files if os.path.exists(f)]
        assert len(files) >= 3, files
        _, out, _ = tool(*files, check_code=0)
        assert "node.id:" in out or "topic_id:" in out, out
        if os.path.exists(os.path.join(b.data_dir, "recovery-point-offset-checkpoint")):
            assert "%s-1: " % TOPIC in out, out

        logs = sorted(glob.glob(os.path.join(b.data_dir, "__consumer_offsets-*", "*.log")))
        assert logs, os.listdir(b.data_dir)
        found = False
        for log in logs:
            if os.path.getsize(log) == 0:
                continue
            _, out, _ = tool("--offsets-decoder", log, check_code=0)
            key = '{"type":"1","data":{"group":"%s","topic":"%s","partition":1}}' % (GROUP, TOPIC)
            if key in out:
                assert re.search(re.escape(key) + r' payload: \{"version":"\d","data":\{"offset":123,', out), out
                found = True
        assert found, "no offset commit of %s found in %d __consumer_offsets logs" % (GROUP, len(logs))
    finally:
        b.close()
