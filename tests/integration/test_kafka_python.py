"""kafka-python 2.0.2 against the real broker, with api_version auto-detection (never pinned):
admin create_topics, KafkaProducer with each codec, KafkaConsumer without a group using
assign/seek, offsets_for_times and beginning/end offsets."""

import logging

import harness
from harness import Broker

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

PARTITIONS = 3
RECORDS = 1500
BASE_TS = 1_650_000_000_000
CODEC_ARG = {"none": None, "gzip": "gzip", "snappy": "snappy", "lz4": "lz4", "zstd": "zstd"}

logging.basicConfig(level=logging.WARNING)


def make_records(codec):
    out = []
    for i in range(RECORDS):
        p = i % PARTITIONS
        key = ("kp-%d" % i).encode()
        value = ("kafka-python %s %d|" % (codec, i)).encode() * (1 + i % 9)
        headers = [("i", str(i).encode()), ("c", codec.encode())]
        out.append((p, key, value, headers, BASE_TS + (i // PARTITIONS) * 7))
    return out


def admin_create(bootstrap, topic, partitions):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000,
                             api_version_auto_timeout_ms=10000)
    try:
        resp = admin.create_topics([NewTopic(topic, partitions, 1)], timeout_ms=10000)
        errors = [(t[0], t[1]) for t in resp.topic_errors]
        assert errors == [(topic, 0)], "create_topics: %r" % (resp.topic_errors,)
        # kafka-python 2.0.2 raises the topic error; other versions return it.
        try:
            again = admin.create_topics([NewTopic(topic, partitions, 1)], timeout_ms=10000)
            codes = [t[1] for t in again.topic_errors]
        except TopicAlreadyExistsError:
            codes = [36]
        assert codes == [36], "creating it twice should give TOPIC_ALREADY_EXISTS (36): %r" % codes
        return admin.config["api_version"]
    finally:
        admin.close()


def roundtrip(codec):
    topic = "kpy-%s" % codec
    records = make_records(codec)
    with Broker({"num.partitions": 1}, name="kpy-" + codec) as b:
        admin_version = admin_create(b.bootstrap, topic, PARTITIONS)
        b.wait_topic(topic, PARTITIONS)
        producer = KafkaProducer(bootstrap_servers=b.bootstrap, compression_type=CODEC_ARG[codec],
                                 linger_ms=20, acks="all", request_timeout_ms=15000,
                                 api_version_auto_timeout_ms=10000, max_block_ms=20000)
        version = producer.config["api_version"]
        print("kafka-python detected api_version %r (admin %r)" % (version, admin_version))
        assert version >= (0, 11), "kafka-python detected api_version %r: too old for record " \
            "headers; its probe of our ApiVersions answer failed" % (version,)
        if codec == "zstd":
            assert version >= (2, 1), "kafka-python detected %r; zstd needs >= (2, 1)" % (version,)
        try:
            futures = []
            for p, key, value, headers, ts in records:
                futures.append(producer.send(topic, value=value, key=key, partition=p,
                                             headers=headers, timestamp_ms=ts))
            producer.flush(timeout=60)
            metas = [f.get(timeout=30) for f in futures]
        finally:
            producer.close(timeout=10)
        per_part = {p: [] for p in range(PARTITIONS)}
        for index, meta in enumerate(metas):
            per_part[meta.partition].append((meta.offset, index))
        for p, items in per_part.items():
            assert [o for o, _ in items] == list(range(len(items))), "partition %d offsets" % p

        consumer = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=None,
                                 enable_auto_commit=False, request_timeout_ms=20000,
                                 api_version_auto_timeout_ms=10000, fetch_max_wait_ms=100,
                                 consumer_timeout_ms=1000)
        try:
            tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            got = drain(consumer, {p: len(per_part[p]) for p in range(PARTITIONS)})
            for p in range(PARTITIONS):
                for msg, (offset, index) in zip(got[p], per_part[p]):
                    rp, key, value, headers, ts = records[index]
                    assert msg.offset == offset
                    assert (msg.key, msg.value) == (key, value), "p%d@%d differs" % (p, offset)
                    assert list(msg.headers) == headers, (msg.headers, headers)
                    assert msg.timestamp == ts and msg.timestamp_type == 0, (msg.timestamp, ts)

            # seek to a chosen offset.
            tp = tps[0]
            start = len(per_part[0]) // 2
            consumer.seek(tp, start)
            again = drain(consumer, {0: len(per_part[0]) - start, 1: 0, 2: 0})
            assert again[0][0].offset == start

            begin = consumer.beginning_offsets(tps)
            end = consumer.end_offsets(tps)
            for p in range(PARTITIONS):
                assert begin[tps[p]] == 0, begin
                assert end[tps[p]] == len(per_part[p]), end

            if codec == "none":
                problems = check_offsets_for_times(consumer, tps[1], per_part[1], records)
                assert not problems, "; ".join(problems)
        finally:
            consumer.close()
        b.assert_alive()


def check_offsets_for_times(consumer, tp, items, records):
    """The offset for a timestamp is the first offset whose record timestamp is >= it (inside
    compressed batches too, as Kafka does).  Returns a list of problems."""
    problems = []
    for probe in (BASE_TS - 1, BASE_TS + 7 * 100 + 3, BASE_TS + 7 * 250 + 1):
        found = consumer.offsets_for_times({tp: probe})[tp]
        want = next(o for o, i in items if records[i][4] >= probe)
        if found is None or found.offset != want:
            problems.append("offsets_for_times(BASE_TS%+d) = %r, expected offset %d" % (
                probe - BASE_TS, found, want))
    late = consumer.offsets_for_times({tp: BASE_TS + 10 ** 9})[tp]
    if late is not None:
        problems.append("a timestamp after every record should give None: %r" % (late,))
    return problems


@harness.timeout(150)
def test_offsets_for_times_compressed():
    """offsets_for_times on topics written with each compression codec."""
    problems = []
    with Broker({"num.partitions": PARTITIONS}, name="kpy-times") as b:
        consumer = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=None,
                                 request_timeout_ms=20000, api_version_auto_timeout_ms=10000)
        producers = []
        try:
            for codec in ("gzip", "snappy", "lz4", "zstd"):
                topic = "kpy-times-%s" % codec
                b.create_topic(topic, PARTITIONS)
                records = make_records(codec)
                producer = KafkaProducer(bootstrap_servers=b.bootstrap,
                                         compression_type=CODEC_ARG[codec], linger_ms=20,
                                         acks="all", request_timeout_ms=15000,
                                         api_version_auto_timeout_ms=10000)
                producers.append(producer)
                futures = [producer.send(topic, value=v, key=k, partition=p, headers=h,
                                         timestamp_ms=ts) for p, k, v, h, ts in records]
                producer.flush(timeout=60)
                items = []
                for index, f in enumerate(futures):
                    meta = f.get(timeout=30)
                    if meta.partition == 1:
                        items.append((meta.offset, index))
                items.sort()
                problems += ["%s: %s" % (codec, p) for p in check_offsets_for_times(
                    consumer, TopicPartition(topic, 1), items, records)]
        finally:
            for producer in producers:
                producer.close(timeout=10)
            consumer.close()
    assert not problems, "; ".join(problems)


def drain(consumer, expected, rounds=120):
    got = {p: [] for p in expected}
    for _ in range(rounds):
        if all(len(got[p]) >= n for p, n in expected.items()):
            break
        batch = consumer.poll(timeout_ms=1000, max_records=1000)
        for tp, msgs in batch.items():
            got.setdefault(tp.partition, []).extend(msgs)
    for p, n in expected.items():
        assert len(got[p]) == n, "partition %d: %d of %d messages" % (p, len(got[p]), n)
    return got


def _make(codec):
    @harness.timeout(150)
    def test():
        roundtrip(codec)
    test.__name__ = "test_roundtrip_%s" % codec
    return test


for _codec in harness.CODECS:
    globals()["test_roundtrip_%s" % _codec] = _make(_codec)


@harness.timeout(90)
def test_metadata_and_topics_listing():
    """KafkaConsumer.topics() (Metadata for all topics) and partitions_for_topic."""
    with Broker({"num.partitions": 2}, name="kpy-md") as b:
        b.create_topic("kpy-a", 2)
        b.create_topic("kpy-b", 5)
        consumer = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=None,
                                 request_timeout_ms=20000, api_version_auto_timeout_ms=10000)
        try:
            topics = consumer.topics()
            assert {"kpy-a", "kpy-b"} <= set(topics), topics
            assert consumer.partitions_for_topic("kpy-b") == set(range(5))
        finally:
            consumer.close()
