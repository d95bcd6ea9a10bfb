"""Compacted topics end to end: a topic with cleanup.policy=compact and many updates per key shrinks
on disk; a consumer from the beginning sees the latest value of every key, offsets with gaps, and
no key whose latest record is a tombstone once its delete.retention.ms has passed; a SIGKILL in the
middle of a (throttled) clean leaves a readable log with the same latest values after restart."""

import glob
import os
import time

import harness
from harness import Broker

import confluent_kafka

KEYS = 40
VALUE_BYTES = 300


def produce_round(bootstrap, topic, round_no, tombstones=(), skip=(), keys=KEYS):
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 8192,
                                         "compression.type": "lz4" if round_no % 2 else "none"})
    latest = {}
    for k in range(keys):
        key = b"key-%03d" % k
        if key in skip:
            continue
        value = (b"r%03d-" % round_no) + os.urandom(VALUE_BYTES)  # incompressible: sizes stay honest
        producer.produce(topic, key=key, value=value, partition=0)
        latest[key] = value
    for key in tombstones:
        producer.produce(topic, key=key, value=None, partition=0)
        latest[key] = None
    assert producer.flush(30) == 0
    return latest


def consume_all(bootstrap, topic, timeout_s=30):
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": harness.unique("g"),
                                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    records = []
    try:
        low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0), timeout=10)
        consumer.assign([confluent_kafka.TopicPartition(topic, 0, low)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is None or m.error() is not None:
                if records and records[-1][0] >= high - 1:
                    break
                continue
            records.append((m.offset(), m.key(), m.value()))
            if m.offset() >= high - 1:
                break
    finally:
        consumer.close()
    return records


def log_bytes(b, topic):
    d = b.partition_dir(topic, 0)
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(d, "*.log")))


def latest_of(records):
    latest = {}
    for _, key, value in records:
        latest[key] = value
    return latest


def check_view(records, expected):
    offsets = [o for o, _, _ in records]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    view = {k: v for k, v in latest_of(records).items() if v is not None}
    wanted = {k: v for k, v in expected.items() if v is not None}
    assert view == wanted, (len(view), len(wanted))


@harness.timeout(150)
def test_compacted_topic_keeps_latest_values_and_shrinks():
    overrides = {"log.cleaner.backoff.ms": "100"}
    with Broker(overrides) as b:
        topic = harness.unique("compact")
        b.create_topic(topic, 1, configs={"cleanup.policy": "compact", "segment.bytes": "32768",
                                          "min.cleanable.dirty.ratio": "0.1", "delete.retention.ms": "500"})
        expected = {}
        for r in range(20):
            expected.update(produce_round(b.bootstrap, topic, r, tombstones=[b"key-000", b"key-001"] if r == 19 else ()))
        written = 20 * KEYS * VALUE_BYTES  # what the log held before any clean, at least
        harness.wait_for(lambda: log_bytes(b, topic) < written / 3, 60, interval_s=0.2,
                         what="the compacted log to shrink below a third of %d bytes" % written)
        assert "event=log_cleaned" in b.stderr_text()
        records = consume_all(b.bootstrap, topic)
        check_view(records, expected)
        # Offsets keep their numbers: fewer records than offsets between the log start (still 0)
        # and the end, and the last record is still at the end.
        consumer = confluent_kafka.Consumer({"bootstrap.servers": b.bootstrap, "group.id": harness.unique("w")})
        try:
            low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0), timeout=10)
        finally:
            consumer.close()
        assert low == 0 and high == 20 * KEYS + 2, (low, high)
        assert len(records) < high - low and records[-1][0] == high - 1, (len(records), records[0][0], high)
        # The tombstones' horizon (delete.retention.ms after the clean that first kept them) passes;
        # more updates of the other keys make the log dirty again, and the next clean drops the
        # tombstones: nothing of the deleted keys is left.
        deleted = (b"key-000", b"key-001")
        time.sleep(1.0)
        cleans_before = b.stderr_text().count("event=log_cleaned")
        for r in range(20, 30):
            expected.update(produce_round(b.bootstrap, topic, r, skip=deleted))
        harness.wait_for(lambda: b.stderr_text().count("event=log_cleaned") > cleans_before, 60, interval_s=0.2,
                         what="another clean")
        # A clean drops a tombstone only once its horizon (stamped by the first clean that kept
        # it) has passed, and only a dirty log is cleaned: keep updating the other keys.
        records = None
        for r in range(30, 60):
            records = consume_all(b.bootstrap, topic)
            if not [k for _, k, _ in records if k in deleted]:
                break
            time.sleep(0.6)
            expected.update(produce_round(b.bootstrap, topic, r, skip=deleted))
        assert not [k for _, k, _ in records if k in deleted], "expired tombstones are still there"
        check_view(records, expected)
        # Restarted, the log reads the same.
        assert b.stop() == 0
        b.start()
        check_view(consume_all(b.bootstrap, topic), expected)


@harness.timeout(180)
def test_sigkill_in_the_middle_of_a_clean_leaves_a_readable_log():
    # A slow cleaner (throttled to 150 KB/s) so a SIGKILL lands while its files are being written.
    overrides = {"log.cleaner.backoff.ms": "100", "log.cleaner.io.max.bytes.per.second": "150000"}
    with Broker(overrides) as b:
        topic = harness.unique("compactkill")
        b.create_topic(topic, 1, configs={"cleanup.policy": "compact", "segment.bytes": "65536",
                                          "min.cleanable.dirty.ratio": "0.05"})
        # Many keys, so a clean keeps (and, throttled, slowly writes) a lot: the kill lands while
        # the new segments are being written.
        expected = {}
        for r in range(6):
            expected.update(produce_round(b.bootstrap, topic, r, keys=800))
        d = b.partition_dir(topic, 0)
        harness.wait_for(lambda: glob.glob(os.path.join(d, "*.cleaned")), 60, interval_s=0.01,
                         what="a clean in progress (.cleaned files)")
        b.kill()
        left = glob.glob(os.path.join(d, "*.cleaned")) + glob.glob(os.path.join(d, "*.swap"))
        assert left, "the SIGKILL did not land inside a clean"
        # Restart without the throttle: recovery removes or completes the leftovers, then the
        # cleaner finishes the job.
        b.overrides.pop("log.cleaner.io.max.bytes.per.second", None)
        b.start()
        check_view(consume_all(b.bootstrap, topic), expected)
        harness.wait_for(lambda: "event=log_cleaned" in b.stderr_text(), 60, interval_s=0.2, what="a clean after restart")
        check_view(consume_all(b.bootstrap, topic), expected)
        assert b.stop() == 0
        b.start()
        check_view(consume_all(b.bootstrap, topic), expected)


@harness.timeout(60)
def test_records_without_a_key_are_refused_by_a_compacted_topic():
    import kproto
    with Broker() as b:
        topic = harness.unique("compactkeys")
        b.create_topic(topic, 1, configs={"cleanup.policy": "compact"})
        plain = harness.unique("plain")
        b.create_topic(plain, 1)
        with b.client() as c:
            for codec in (kproto.CODEC_NONE, kproto.CODEC_LZ4, kproto.CODEC_ZSTD):
                keyless = kproto.build_batch([kproto.Record(b"v1", key=b"k"), kproto.Record(b"v2")], codec=codec)
                p = c.produce_one(topic, 0, keyless)
                assert p["error_code"] == kproto.INVALID_RECORD, (codec, p)
                assert "without key" in (p.get("error_message") or ""), p
                keyed = kproto.build_batch([kproto.Record(b"v1", key=b"k"), kproto.Record(b"v2", key=b"j")], codec=codec)
                p = c.produce_one(topic, 0, keyed)
                assert p["error_code"] == 0, (codec, p)
            # A topic that is not compacted takes records without a key.
            p = c.produce_one(plain, 0, kproto.build_batch([kproto.Record(b"v")]))
            assert p["error_code"] == 0, p
        consumer = confluent_kafka.Consumer({"bootstrap.servers": b.bootstrap, "group.id": harness.unique("g")})
        try:
            low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0), timeout=10)
        finally:
            consumer.close()
        assert (low, high) == (0, 6), (low, high)  # only the three keyed batches went in
