"""confluent-kafka (librdkafka 2.0) Producer and Consumer against the real broker.  For each
codec: produce keyed records with headers and explicit timestamps, lingering so batches hold
many records, then read them back with a Consumer that has a group.id but no auto commit and
an explicit assign(); also replay from a chosen offset, look offsets up by timestamp and read
the watermarks."""


import harness
from harness import Broker

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, Producer,
                             TopicPartition, TIMESTAMP_CREATE_TIME)

PARTITIONS = 3
RECORDS = 3000
BASE_TS = 1_600_000_000_000


def make_records(codec):
    """(partition, key, value, headers, timestamp); timestamps increase by 10 ms per partition
    so each timestamp lookup has one right answer."""
    out = []
    for i in range(RECORDS):
        p = i % PARTITIONS
        n = i // PARTITIONS
        key = ("key-%d" % i).encode() if i % 17 else None
        value = ("%s value %d " % (codec, i)).encode() * (1 + i % 13) + bytes([i % 256]) * (i % 5)
        headers = [("seq", str(i).encode()), ("codec", codec.encode())]
        if i % 11 == 0:
            headers.append(("empty", b""))
        ts = BASE_TS + n * 10
        out.append((p, key, value, headers, ts))
    return out


def produce_all(bootstrap, topic, codec, records, extra_config=None):
    """Returns {(partition, offset): index} for every delivered record; asserts all delivered."""
    delivered = {}
    errors = []

    def on_delivery(err, msg, index):
        if err is not None:
            errors.append((index, str(err)))
        else:
            delivered[(msg.partition(), msg.offset())] = index

    config = {"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 50,
              "batch.num.messages": 500, "acks": "all", "message.timeout.ms": 30000,
              "socket.timeout.ms": 10000}
    config.update(extra_config or {})
    producer = Producer(config)
    for index, (p, key, value, headers, ts) in enumerate(records):
        for _ in range(200):
            try:
                producer.produce(topic, value=value, key=key, partition=p, headers=headers,
                                 timestamp=ts,
                                 on_delivery=lambda err, msg, index=index: on_delivery(err, msg, index))
                break
            except BufferError:
                producer.poll(0.1)
        else:
            raise AssertionError("producer queue stayed full")
        producer.poll(0)
    left = producer.flush(60)
    assert left == 0, "%d messages not delivered within 60s" % left
    assert not errors, "delivery errors: %s" % errors[:5]
    assert len(delivered) == len(records), (len(delivered), len(records))
    return delivered


def new_consumer(bootstrap, group="it-confluent"):
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False, "enable.partition.eof": True,
                     "auto.offset.reset": "earliest", "socket.timeout.ms": 10000,
                     "fetch.wait.max.ms": 100})


def consume_assigned(consumer, assignments, expected_counts, rounds=120):
    """assign() then consume until each partition has `expected_counts[p]` messages."""
    consumer.assign(assignments)
    got = {p: [] for p in expected_counts}
    for _ in range(rounds):
        if all(len(got[p]) >= n for p, n in expected_counts.items()):
            break
        for msg in consumer.consume(1000, timeout=1.0):
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError("consumer error: %s" % err)
            got[msg.partition()].append(msg)
    for p, n in expected_counts.items():
        assert len(got[p]) >= n, "partition %d: got %d of %d messages" % (p, len(got[p]), n)
        assert len(got[p]) == n, "partition %d: got %d messages, expected %d" % (p, len(got[p]), n)
    return got


def check_message(msg, record, topic):
    p, key, value, headers, ts = record
    assert msg.topic() == topic
    assert msg.partition() == p, (msg.partition(), p)
    assert msg.key() == key, "offset %d: key %r != %r" % (msg.offset(), msg.key(), key)
    assert msg.value() == value, "offset %d: value differs" % msg.offset()
    assert (msg.headers() or []) == headers, "offset %d: headers %r != %r" % (
        msg.offset(), msg.headers(), headers)
    assert msg.timestamp() == (TIMESTAMP_CREATE_TIME, ts), "offset %d: timestamp %r != %r" % (
        msg.offset(), msg.timestamp(), ts)


def per_partition(delivered):
    """{partition: [(offset, record index)]} in offset order."""
    return {p: sorted((o, i) for (pp, o), i in delivered.items() if pp == p)
            for p in range(PARTITIONS)}


def check_offsets_for_times(consumer, topic, per_part, records):
    """The offset for a timestamp is the first offset whose record timestamp is >= it (for
    compressed batches too: Kafka looks inside the batch).  Returns a list of problems."""
    problems = []
    probes = [BASE_TS - 1, BASE_TS, BASE_TS + 10 * 100 + 5, BASE_TS + 10 * 333 + 1,
              BASE_TS + 10 * 500]
    for ts in probes:
        # One call per probe: librdkafka keeps one entry per partition in a list.
        (answer,) = consumer.offsets_for_times([TopicPartition(topic, 2, ts)], timeout=15)
        want = next((o for o, i in per_part[2] if records[i][4] >= ts), -1)
        if answer.error is not None or answer.offset != want:
            problems.append("offsets_for_times(BASE_TS%+d) = %s, expected %d" % (
                ts - BASE_TS, answer.error or answer.offset, want))
    last_ts = records[per_part[2][-1][1]][4]
    (after,) = consumer.offsets_for_times([TopicPartition(topic, 2, last_ts + 1)], timeout=15)
    if after.offset not in (-1, len(per_part[2])):
        problems.append("offsets_for_times after the last timestamp: %d" % after.offset)
    return problems


def roundtrip(codec):
    topic = "confluent-%s" % codec
    records = make_records(codec)
    with Broker({"num.partitions": PARTITIONS}, name="confluent-" + codec) as b:
        b.create_topic(topic, PARTITIONS)
        delivered = produce_all(b.bootstrap, topic, codec, records)
        per_part = per_partition(delivered)
        for p, items in per_part.items():
            offsets = [o for o, _ in items]
            assert offsets == list(range(len(items))), "partition %d offsets not 0..n-1" % p
            indexes = [i for _, i in items]
            assert indexes == sorted(indexes), "partition %d not in produce order" % p

        consumer = new_consumer(b.bootstrap)
        try:
            got = consume_assigned(
                consumer, [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)],
                {p: len(per_part[p]) for p in range(PARTITIONS)})
            for p in range(PARTITIONS):
                for msg, (offset, index) in zip(got[p], per_part[p]):
                    assert msg.offset() == offset, (msg.offset(), offset)
                    check_message(msg, records[index], topic)

            # Replay partition 1 from a chosen offset.
            start = len(per_part[1]) // 3
            consumer.unassign()
            again = consume_assigned(consumer, [TopicPartition(topic, 1, start)],
                                     {1: len(per_part[1]) - start})
            assert again[1][0].offset() == start, again[1][0].offset()
            for msg, (offset, index) in zip(again[1], per_part[1][start:]):
                assert msg.offset() == offset
                check_message(msg, records[index], topic)

            # Watermarks.
            for p in range(PARTITIONS):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=15)
                assert (low, high) == (0, len(per_part[p])), (p, low, high)
        finally:
            consumer.close()
        b.assert_alive()


def _make(codec):
    @harness.timeout(180)
    def test():
        roundtrip(codec)
    test.__name__ = "test_roundtrip_%s" % codec
    return test


for _codec in harness.CODECS:
    globals()["test_roundtrip_%s" % _codec] = _make(_codec)


@harness.timeout(180)
def test_offsets_for_times_every_codec():
    """offsets_for_times (ListOffsets by timestamp) on topics written with each codec."""
    problems = []
    with Broker({"num.partitions": PARTITIONS}, name="confluent-times") as b:
        consumer = new_consumer(b.bootstrap)
        try:
            for codec in harness.CODECS:
                topic = "times-%s" % codec
                records = make_records(codec)
                b.create_topic(topic, PARTITIONS)
                per_part = per_partition(produce_all(b.bootstrap, topic, codec, records))
                problems += ["%s: %s" % (codec, p)
                             for p in check_offsets_for_times(consumer, topic, per_part, records)]
        finally:
            consumer.close()
    assert not problems, "; ".join(problems)


@harness.timeout(120)
def test_idempotent_producer():
    """enable.idempotence=true: InitProducerId, then sequenced batches; everything lands once."""
    topic = "confluent-idem"
    records = make_records("zstd")[:1200]
    with Broker({"num.partitions": PARTITIONS}, name="confluent-idem") as b:
        b.create_topic(topic, PARTITIONS)
        delivered = produce_all(b.bootstrap, topic, "zstd", records,
                                {"enable.idempotence": True, "max.in.flight": 5})
        consumer = new_consumer(b.bootstrap)
        try:
            counts = {p: sum(1 for (pp, _o) in delivered if pp == p) for p in range(PARTITIONS)}
            got = consume_assigned(
                consumer, [TopicPartition(topic, p, 0) for p in range(PARTITIONS)], counts)
            for p in range(PARTITIONS):
                for msg in got[p]:
                    check_message(msg, records[delivered[(p, msg.offset())]], topic)
        finally:
            consumer.close()


@harness.timeout(120)
def test_null_value_and_null_header():
    """A record with a null value (a tombstone), a null key and a header whose value is null."""
    topic = "confluent-nulls"
    with Broker({"num.partitions": 1}, name="confluent-nulls") as b:
        b.create_topic(topic, 1)
        producer = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5})
        producer.produce(topic, value=None, key=b"k", partition=0, headers=[("h", None)])
        producer.produce(topic, value=b"v", key=None, partition=0, headers=[("a", b"1"), ("a", b"2")])
        assert producer.flush(30) == 0
        consumer = new_consumer(b.bootstrap)
        try:
            got = consume_assigned(consumer, [TopicPartition(topic, 0, 0)], {0: 2})[0]
            assert (got[0].key(), got[0].value(), got[0].headers()) == (b"k", None, [("h", None)]), \
                (got[0].key(), got[0].value(), got[0].headers())
            assert (got[1].key(), got[1].value(), got[1].headers()) == (
                None, b"v", [("a", b"1"), ("a", b"2")])
        finally:
            consumer.close()
