"""Restarts on the same data directory and port.  A clean stop (SIGTERM) keeps every record and
the offsets continue after restart; a SIGKILL keeps every acknowledged record; a torn or
corrupt tail left by a crash is cut off by recovery and the log continues from the last valid
batch."""

import os
import threading

import harness
import kproto
from harness import Broker
from kproto import Record, build_batch

from confluent_kafka import Producer

PARTITIONS = 3


def produce_confluent(bootstrap, topic, count, tag, codec="lz4"):
    """Produces `count` records round-robin over the partitions; returns {(p, offset): value}."""
    acked = {}
    errors = []

    def on_delivery(err, msg):
        if err is None:
            acked[(msg.partition(), msg.offset())] = msg.value()
        else:
            errors.append(str(err))

    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                         "linger.ms": 10, "acks": "all", "message.timeout.ms": 30000})
    for i in range(count):
        producer.produce(topic, value=b"%s-%d" % (tag, i), partition=i % PARTITIONS,
                         on_delivery=on_delivery)
        if i % 500 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0, "not all delivered"
    assert not errors, errors[:5]
    return acked


def read_everything(b, topic, partitions=PARTITIONS):
    out = {}
    with b.client() as c:
        for p in range(partitions):
            for offset, _ts, _k, value, _h in kproto.read_all(c, topic, p):
                out[(p, offset)] = value
    return out


def assert_contiguous(records, partitions=PARTITIONS):
    for p in range(partitions):
        offsets = sorted(o for (pp, o) in records if pp == p)
        assert offsets == list(range(len(offsets))), "partition %d offsets have gaps" % p


@harness.timeout(120)
def test_clean_restart_keeps_everything():
    topic = "restart-clean"
    with Broker({"num.partitions": PARTITIONS}, name="restart-clean") as b:
        b.create_topic(topic, PARTITIONS)
        acked = produce_confluent(b.bootstrap, topic, 3000, b"first")
        code = b.stop()
        assert code == 0, "SIGTERM should stop the broker cleanly, exit code %r" % code
        assert os.path.exists(os.path.join(b.data_dir, ".kafka_cleanshutdown")), \
            "no .kafka_cleanshutdown marker after a clean stop"
        b.start()
        b.wait_topic(topic, PARTITIONS)
        got = read_everything(b, topic)
        assert got == acked, "after a clean restart: %d records, %d acknowledged" % (len(got), len(acked))
        # Offsets continue where they stopped.
        more = produce_confluent(b.bootstrap, topic, 300, b"second")
        for (p, offset) in more:
            assert offset >= sum(1 for (pp, _o) in acked if pp == p), (p, offset)
        acked.update(more)
        b.restart()
        got = read_everything(b, topic)
        assert got == acked
        assert_contiguous(got)


@harness.timeout(120)
def test_sigkill_keeps_acknowledged_records():
    topic = "restart-kill"
    with Broker({"num.partitions": PARTITIONS}, name="restart-kill") as b:
        b.create_topic(topic, PARTITIONS)
        acked = produce_confluent(b.bootstrap, topic, 3000, b"acked", codec="zstd")
        b.kill()
        assert not os.path.exists(os.path.join(b.data_dir, ".kafka_cleanshutdown")), \
            ".kafka_cleanshutdown exists after SIGKILL"
        b.start()
        b.wait_topic(topic, PARTITIONS)
        got = read_everything(b, topic)
        missing = [k for k in acked if got.get(k) != acked[k]]
        assert not missing, "%d acknowledged records lost or changed after SIGKILL, e.g. %r" % (
            len(missing), missing[:5])
        assert_contiguous(got)
        more = produce_confluent(b.bootstrap, topic, 30, b"after")
        assert all(v.startswith(b"after") for v in more.values())


@harness.timeout(150)
def test_sigkill_while_producing():
    """SIGKILL in the middle of a stream: every record the broker acknowledged is there after
    restart, offsets are contiguous, and records that were not acknowledged may or may not be."""
    topic = "restart-stream"
    with Broker({"num.partitions": PARTITIONS}, name="restart-stream") as b:
        b.create_topic(topic, PARTITIONS)
        acked = {}
        stop = threading.Event()

        def on_delivery(err, msg):
            if err is None:
                acked[(msg.partition(), msg.offset())] = msg.value()

        producer = Producer({"bootstrap.servers": b.bootstrap, "compression.type": "gzip",
                             "linger.ms": 2, "acks": "all", "message.timeout.ms": 4000,
                             "retries": 0})

        def produce_loop():
            i = 0
            while not stop.is_set() and i < 2_000_000:
                try:
                    producer.produce(topic, value=b"s-%d" % i, partition=i % PARTITIONS,
                                     on_delivery=on_delivery)
                    i += 1
                except BufferError:
                    producer.poll(0.01)
                producer.poll(0)

        thread = threading.Thread(target=produce_loop)
        thread.start()
        try:
            harness.wait_for(lambda: len(acked) >= 5000, 60, 0.05, "5000 acknowledged records")
            b.kill()
        finally:
            stop.set()
            thread.join(30)
        producer.flush(15)  # Whatever is left fails with a timeout; acked is now final.
        snapshot = dict(acked)
        b.start()
        b.wait_topic(topic, PARTITIONS)
        got = read_everything(b, topic)
        missing = [k for k in snapshot if got.get(k) != snapshot[k]]
        assert not missing, "%d of %d acknowledged records lost after SIGKILL, e.g. %r" % (
            len(missing), len(snapshot), sorted(missing)[:5])
        assert_contiguous(got)


def log_path(b, topic, partition):
    return os.path.join(b.partition_dir(topic, partition), "00000000000000000000.log")


def valid_log_bytes(path):
    """Bytes of the valid batches at the start of a segment file (stops at zeros or a partial)."""
    with open(path, "rb") as f:
        data = f.read()
    batches = kproto.parse_batches(data)
    end = 0
    for bt in batches:
        if bt.magic != 2 or bt.batch_length <= 0:
            break
        end = bt.position + len(bt.raw)
    return end, batches


@harness.timeout(90)
def test_torn_tail_is_truncated_on_recovery():
    topic = "torn"
    with Broker({"num.partitions": 1}, name="torn") as b:
        b.create_topic(topic, 1)
        with b.client() as c:
            for i in range(10):
                assert c.produce_one(topic, 0, build_batch([Record(b"t%d-%d" % (i, j))
                                                            for j in range(4)]))["error_code"] == 0
        b.kill()
        path = log_path(b, topic, 0)
        end, _ = valid_log_bytes(path)
        # A torn write: the first 30 bytes of a batch header claiming 1000 bytes, written after
        # the last valid batch (over any preallocated zeros).
        torn = build_batch([Record(b"torn" * 200)], base_offset=40)[:30]
        with open(path, "r+b") as f:
            f.seek(end)
            f.write(torn)
        b.start()
        b.wait_topic(topic, 1)
        with b.client() as c:
            values = [r[3] for r in kproto.read_all(c, topic, 0)]
            assert values == [b"t%d-%d" % (i, j) for i in range(10) for j in range(4)], values[-3:]
            p = c.produce_one(topic, 0, build_batch([Record(b"after")]))
            assert (p["error_code"], p["base_offset"]) == (0, 40), p
            values = [r[3] for r in kproto.read_all(c, topic, 0)]
            assert values[-1] == b"after" and len(values) == 41


@harness.timeout(90)
def test_corrupt_last_batch_is_truncated_on_recovery():
    """A crash that leaves the last batch with a bad CRC: recovery (which rescans the active
    segment after an unclean stop, as Kafka does) cuts the log at that batch."""
    topic = "corrupt"
    with Broker({"num.partitions": 1}, name="corrupt") as b:
        b.create_topic(topic, 1)
        with b.client() as c:
            for i in range(6):
                assert c.produce_one(topic, 0, build_batch([Record(b"c%d-%d" % (i, j) + b"." * 50)
                                                            for j in range(3)]))["error_code"] == 0
        b.kill()
        path = log_path(b, topic, 0)
        end, batches = valid_log_bytes(path)
        assert len(batches) >= 6, "expected 6 batches in %s, found %d" % (path, len(batches))
        last = batches[5]
        with open(path, "r+b") as f:
            f.seek(last.position + kproto.BATCH_HEADER_BYTES + 5)
            byte = f.read(1)
            f.seek(last.position + kproto.BATCH_HEADER_BYTES + 5)
            f.write(bytes([byte[0] ^ 0xFF]))
        b.start()
        b.wait_topic(topic, 1)
        with b.client() as c:
            hw = c.list_offsets(topic, 0, -1)["offset"]
            assert hw == 15, "log end offset %d after recovery, expected 15 (corrupt batch cut)" % hw
            values = [r[3] for r in kproto.read_all(c, topic, 0)]
            assert len(values) == 15
            p = c.produce_one(topic, 0, build_batch([Record(b"next")]))
            assert (p["error_code"], p["base_offset"]) == (0, 15), p


@harness.timeout(120)
def test_restart_preserves_topics_and_configs():
    with Broker({"num.partitions": 1}, name="restart-topics") as b:
        b.create_topic("keep-a", 4)
        b.create_topic("keep-b", 2, {"cleanup.policy": "delete", "retention.ms": "86400000"})
        b.stop()
        b.start()
        b.wait_topic("keep-a", 4)
        b.wait_topic("keep-b", 2)
        b.kill()
        b.start()
        b.wait_topic("keep-a", 4)
        b.wait_topic("keep-b", 2)
