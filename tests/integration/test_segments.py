"""Segments and retention, as Kafka does them: a small log.segment.bytes rolls segments named by
their base offset; reads, timestamp lookups and restarts (clean and SIGKILL) work across
segments; time- and size-based retention delete whole old segments and move the log start
offset."""

import os
import time

import harness
import kproto
from harness import Broker
from kproto import Record, build_batch

SEGMENT_BYTES = 64 * 1024
BASE_TS = 1_700_000_000_000


def produce_batches(b, topic, count, records_per_batch=10, value_bytes=500, ts=None):
    """Produces `count` batches; returns the list of values in offset order."""
    values = []
    with b.client() as c:
        for i in range(count):
            recs = []
            for j in range(records_per_batch):
                v = (b"%06d-%03d-" % (i, j)) + b"v" * value_bytes
                stamp = None if ts is None else ts + i * 1000 + j
                recs.append(Record(v, key=b"k%d" % j, timestamp=stamp))
                values.append(v)
            p = c.produce_one(topic, 0, build_batch(recs))
            assert p["error_code"] == 0, (i, p)
            assert p["base_offset"] == i * records_per_batch, (i, p)
    return values


def segment_files(b, topic, partition=0):
    d = b.partition_dir(topic, partition)
    return sorted(n for n in os.listdir(d) if n.endswith(".log"))


def check_segments(b, topic, expected_first=0):
    """Each segment's name is the base offset of its first batch; segments chain with no gap;
    returns the log end offset."""
    names = segment_files(b, topic)
    assert names, "no segments"
    next_offset = None
    for name in names:
        assert len(name) == 24 and name[:20].isdigit(), "bad segment name %r" % name
        base = int(name[:20])
        with open(os.path.join(b.partition_dir(topic, 0), name), "rb") as f:
            batches = kproto.parse_batches(f.read())
        if not batches:
            assert name == names[-1], "empty segment %s that is not the active one" % name
            assert next_offset is None or base == next_offset, (name, next_offset)
            continue
        assert batches[0].base_offset == base, "%s starts with offset %d" % (name, batches[0].base_offset)
        if next_offset is not None:
            assert base == next_offset, "gap before %s: expected base %d" % (name, next_offset)
        for bt in batches:
            assert bt.crc_ok(), "%s: bad CRC at %d" % (name, bt.position)
        next_offset = batches[-1].last_offset + 1
        size = os.path.getsize(os.path.join(b.partition_dir(topic, 0), name))
        if name != names[-1]:
            assert batches[-1].position + len(batches[-1].raw) <= SEGMENT_BYTES, \
                "%s holds %d bytes of batches, over segment.bytes" % (name, size)
    return names


@harness.timeout(120)
def test_segments_roll_and_read_across():
    topic = "roll"
    with Broker({"num.partitions": 1, "log.segment.bytes": SEGMENT_BYTES}, name="roll") as b:
        b.create_topic(topic, 1)
        values = produce_batches(b, topic, 120, ts=BASE_TS)  # About 620 KB: ten segments.
        names = check_segments(b, topic)
        assert len(names) >= 8, "expected about ten segments of 64 KiB, found %r" % names
        with b.client() as c:
            got = [r[3] for r in kproto.read_all(c, topic, 0)]
            assert got == values
            # Timestamp lookups land in the right segment.
            for i in (0, 37, 64, 119):
                p = c.list_offsets(topic, 0, BASE_TS + i * 1000 + 3)
                assert (p["offset"], p["timestamp"]) == (i * 10 + 3, BASE_TS + i * 1000 + 3), (i, p)
            # A fetch from the middle of a later segment.
            mid = int(names[len(names) // 2][:20]) + 2
            got = [r[3] for r in kproto.read_all(c, topic, 0, start=mid)]
            assert got == values[mid:]
        assert b.stop() == 0
        for name in segment_files(b, topic):
            stem = os.path.join(b.partition_dir(topic, 0), name[:-4])
            assert os.path.getsize(stem + ".index") % 8 == 0
            assert os.path.getsize(stem + ".timeindex") % 12 == 0
        b.start()
        with b.client() as c:
            assert [r[3] for r in kproto.read_all(c, topic, 0)] == values
        more = produce_batches_after(b, topic, len(values))
        b.kill()
        b.start()
        with b.client() as c:
            assert [r[3] for r in kproto.read_all(c, topic, 0)] == values + more
        check_segments(b, topic)


def produce_batches_after(b, topic, start_offset):
    values = []
    with b.client() as c:
        for i in range(20):
            v = [b"after-%d-%d" % (i, j) + b"w" * 500 for j in range(10)]
            p = c.produce_one(topic, 0, build_batch([Record(x) for x in v]))
            assert (p["error_code"], p["base_offset"]) == (0, start_offset + i * 10), p
            values += v
    return values


@harness.timeout(120)
def test_topic_segment_bytes_config():
    """segment.bytes given per topic in CreateTopics overrides the broker default."""
    topic = "roll-topic"
    with Broker({"num.partitions": 1}, name="roll-topic") as b:
        b.create_topic(topic, 1, {"segment.bytes": str(SEGMENT_BYTES)})
        produce_batches(b, topic, 60)
        names = check_segments(b, topic)
        assert len(names) >= 4, "per-topic segment.bytes ignored: %r" % names



@harness.timeout(120)
def test_time_retention_deletes_old_segments():
    topic = "retain-time"
    overrides = {"num.partitions": 1, "log.segment.bytes": SEGMENT_BYTES,
                 "log.retention.check.interval.ms": 500}
    with Broker(overrides, name="retain-time") as b:
        b.create_topic(topic, 1, {"retention.ms": "3600000"})
        old = int(time.time() * 1000) - 24 * 3600 * 1000
        values = produce_batches(b, topic, 60, ts=old)  # Records from a day ago.
        first_names = segment_files(b, topic)
        assert len(first_names) >= 4, first_names

        def start_moved():
            with b.client() as c:
                return c.list_offsets(topic, 0, -2)["offset"] > 0
        harness.wait_for(start_moved, 30, 0.25, "retention.ms to delete the old segments")
        with b.client() as c:
            start = c.list_offsets(topic, 0, -2)["offset"]
            end = c.list_offsets(topic, 0, -1)["offset"]
            assert end == len(values), (start, end)
            p = c.fetch_partition(topic, 0, 0)
            assert p["error_code"] == kproto.OFFSET_OUT_OF_RANGE, p
            got = [r[3] for r in kproto.read_all(c, topic, 0, start=start)]
            assert got == values[start:]
        names = segment_files(b, topic)
        assert int(names[0][:20]) == start, (names[0], start)
        assert b.stop() == 0
        with open(os.path.join(b.data_dir, "log-start-offset-checkpoint")) as f:
            text = f.read()
        assert ("%s 0 %d" % (topic, start)) in text, \
            "log-start-offset-checkpoint does not record start %d: %r" % (start, text)
        b.start()
        with b.client() as c:
            assert c.list_offsets(topic, 0, -2)["offset"] == start



@harness.timeout(120)
def test_size_retention_keeps_the_newest_bytes():
    topic = "retain-size"
    overrides = {"num.partitions": 1, "log.segment.bytes": SEGMENT_BYTES,
                 "log.retention.check.interval.ms": 500}
    with Broker(overrides, name="retain-size") as b:
        b.create_topic(topic, 1, {"retention.bytes": str(3 * SEGMENT_BYTES)})
        values = produce_batches(b, topic, 120)

        def trimmed():
            total = sum(os.path.getsize(os.path.join(b.partition_dir(topic, 0), n))
                        for n in segment_files(b, topic)[:-1])
            return total <= 3 * SEGMENT_BYTES + SEGMENT_BYTES
        harness.wait_for(trimmed, 30, 0.25, "retention.bytes to delete old segments")
        with b.client() as c:
            start = c.list_offsets(topic, 0, -2)["offset"]
            assert start > 0
            got = [r[3] for r in kproto.read_all(c, topic, 0, start=start)]
            assert got == values[start:]
