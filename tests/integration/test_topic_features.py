"""Topic-level behaviour: LogAppendTime topics (the one case where the broker rewrites batch
header fields and the CRC), idempotent producer sequence checks over the raw protocol, many
partitions, and several producers writing one partition at once."""

import threading
import time

import harness
import kproto
from harness import Broker
from kproto import Record, build_batch

from confluent_kafka import Producer


@harness.timeout(90)
def test_log_append_time_topic():
    topic = "lat"
    with Broker({"num.partitions": 1}, name="lat") as b:
        b.create_topic(topic, 1, {"message.timestamp.type": "LogAppendTime"})
        with b.client() as c:
            sent = []
            for codec in ("none", "gzip", "zstd"):
                t0 = int(time.time() * 1000)
                batch = build_batch([Record(b"%s-%d" % (codec.encode(), j), timestamp=1000 + j)
                                     for j in range(4)], codec=kproto.CODEC_IDS[codec])
                p = c.produce_one(topic, 0, batch)
                t1 = int(time.time() * 1000) + 1
                assert p["error_code"] == 0, p
                assert t0 <= p["log_append_time_ms"] <= t1, \
                    "log_append_time_ms %d outside [%d, %d]" % (p["log_append_time_ms"], t0, t1)
                sent.append((codec, p["log_append_time_ms"]))
            f = c.fetch_partition(topic, 0, 0)
            batches = kproto.parse_batches(f["records"], strict=True)
            assert len(batches) == 3
            for bt, (codec, append_ms) in zip(batches, sent):
                assert bt.timestamp_type == 1, "%s: timestamp type bit not set" % codec
                assert bt.max_timestamp == append_ms, (codec, bt.max_timestamp, append_ms)
                assert bt.crc_ok(), "%s: CRC not recomputed after setting the timestamp" % codec
                assert bt.codec == kproto.CODEC_IDS[codec]
                for rec in bt.records():
                    assert rec[1] == append_ms, (codec, rec)
            # Lookups by timestamp use the append time.
            p = c.list_offsets(topic, 0, sent[1][1])
            assert p["offset"] <= 4, p


@harness.timeout(120)
def test_many_partitions():
    topic = "wide"
    partitions = 200
    with Broker({"num.partitions": 1}, name="wide") as b:
        b.create_topic(topic, partitions, timeout_s=60)
        producer = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 20,
                             "compression.type": "lz4"})
        for p in range(partitions):
            for j in range(5):
                producer.produce(topic, value=b"p%d-%d" % (p, j), partition=p)
            producer.poll(0)
        assert producer.flush(60) == 0
        with b.client() as c:
            for p in range(partitions):
                values = [r[3] for r in kproto.read_all(c, topic, p)]
                assert values == [b"p%d-%d" % (p, j) for j in range(5)], (p, values)
        b.stop()
        b.start()
        b.wait_topic(topic, partitions, timeout_s=60)
        with b.client() as c:
            for p in (0, partitions // 2, partitions - 1):
                assert len(kproto.read_all(c, topic, p)) == 5


@harness.timeout(120)
def test_concurrent_producers_one_partition():
    """Four producers write one partition at once: nothing lost or duplicated, and each
    producer's records keep their order."""
    topic = "shared"
    producers = 4
    per_producer = 3000
    with Broker({"num.partitions": 1}, name="shared") as b:
        b.create_topic(topic, 1)
        errors = []

        def run(n):
            try:
                p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5,
                              "compression.type": ["none", "gzip", "lz4", "zstd"][n]})
                for i in range(per_producer):
                    while True:
                        try:
                            p.produce(topic, value=b"%d:%d" % (n, i), partition=0)
                            break
                        except BufferError:
                            p.poll(0.05)
                    p.poll(0)
                left = p.flush(60)
                if left:
                    errors.append("producer %d: %d undelivered" % (n, left))
            except Exception as e:  # noqa: BLE001
                errors.append("producer %d: %r" % (n, e))
        threads = [threading.Thread(target=run, args=(n,)) for n in range(producers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not errors, errors
        with b.client() as c:
            values = [r[3] for r in kproto.read_all(c, topic, 0, rounds=2000)]
        assert len(values) == producers * per_producer, len(values)
        last = {}
        for v in values:
            n, i = (int(x) for x in v.split(b":"))
            assert i == last.get(n, -1) + 1, "producer %d: %d after %d" % (n, i, last.get(n, -1))
            last[n] = i
