"""Idempotent producer: per partition and producer id, the broker keeps the epoch and the last 5
batches' sequences (Kafka's ProducerStateManager). A retried batch is answered with its original
offset and not appended again, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER, a stale epoch is
INVALID_PRODUCER_EPOCH, and the state survives restarts. Raw protocol for the exact answers,
confluent-kafka (librdkafka) with enable.idempotence=true for a real client."""

import os

import harness
import kproto
from harness import Broker
from kproto import Record, build_batch

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


@harness.timeout(90)
def test_idempotent_sequences_raw():
    topic = "idem"
    with Broker({"num.partitions": 1}, name="idem") as b:
        b.create_topic(topic, 1)
        with b.client() as c:
            pid = c.init_producer_id()
            assert pid["error_code"] == 0 and pid["producer_id"] >= 0, pid
            producer_id, epoch = pid["producer_id"], pid["producer_epoch"]

            def seq_batch(seq, n=3, tag=b"i"):
                return build_batch([Record(b"%s-%d" % (tag, seq + j)) for j in range(n)],
                                   producer_id=producer_id, producer_epoch=epoch,
                                   base_sequence=seq)
            first = seq_batch(0)
            p = c.produce_one(topic, 0, first)
            assert (p["error_code"], p["base_offset"]) == (0, 0), p
            p = c.produce_one(topic, 0, seq_batch(3))
            assert (p["error_code"], p["base_offset"]) == (0, 3), p
            # A retry of the first batch is a duplicate: success with its original offset (or
            # DUPLICATE_SEQUENCE_NUMBER), and nothing is appended.
            p = c.produce_one(topic, 0, first)
            assert p["error_code"] in (0, kproto.DUPLICATE_SEQUENCE_NUMBER), p
            if p["error_code"] == 0:
                assert p["base_offset"] == 0, "a duplicate batch was appended again: %r" % p
            assert c.list_offsets(topic, 0, -1)["offset"] == 6, "a duplicate batch was appended"
            # A gap in the sequence.
            p = c.produce_one(topic, 0, seq_batch(20))
            assert p["error_code"] == kproto.OUT_OF_ORDER_SEQUENCE_NUMBER, p
            assert c.list_offsets(topic, 0, -1)["offset"] == 6
            p = c.produce_one(topic, 0, seq_batch(6))
            assert (p["error_code"], p["base_offset"]) == (0, 6), p
            values = [r[3] for r in kproto.read_all(c, topic, 0)]
            assert values == [b"i-%d" % i for i in range(9)], values
        # Producer state survives a clean restart (the .snapshot file): the duplicate is still
        # recognised.
        b.restart()
        names = os.listdir(b.partition_dir(topic, 0))
        assert "00000000000000000009.snapshot" in names, "no producer snapshot at clean stop: %r" % names
        with b.client() as c:
            p = c.produce_one(topic, 0, seq_batch(6))
            assert p["error_code"] in (0, kproto.DUPLICATE_SEQUENCE_NUMBER), p
            assert c.list_offsets(topic, 0, -1)["offset"] == 9, \
                "the duplicate was appended after a restart (producer state lost)"
        # The same after an unclean stop (SIGKILL): the state is rebuilt from the batch headers.
        b.restart(hard=True)
        with b.client() as c:
            p = c.produce_one(topic, 0, seq_batch(6))
            assert p["error_code"] in (0, kproto.DUPLICATE_SEQUENCE_NUMBER), p
            if p["error_code"] == 0:
                assert p["base_offset"] == 6, p
            p = c.produce_one(topic, 0, seq_batch(10))
            assert p["error_code"] == kproto.OUT_OF_ORDER_SEQUENCE_NUMBER, p
            p = c.produce_one(topic, 0, seq_batch(9))
            assert (p["error_code"], p["base_offset"]) == (0, 9), p
            assert c.list_offsets(topic, 0, -1)["offset"] == 12


@harness.timeout(60)
def test_producer_epochs_raw():
    """A bumped epoch must start its sequences at 0 and fences the old epoch."""
    topic = "idem-epoch"
    with Broker({"num.partitions": 1}, name="idem-epoch") as b:
        b.create_topic(topic, 1)
        with b.client() as c:
            pid = c.init_producer_id()
            producer_id, epoch = pid["producer_id"], pid["producer_epoch"]

            def batch(e, seq, n=2):
                return build_batch([Record(b"e%d-%d" % (e, seq + j)) for j in range(n)],
                                   producer_id=producer_id, producer_epoch=e, base_sequence=seq)
            p = c.produce_one(topic, 0, batch(epoch, 0))
            assert (p["error_code"], p["base_offset"]) == (0, 0), p
            p = c.produce_one(topic, 0, batch(epoch + 1, 2))
            assert p["error_code"] == kproto.OUT_OF_ORDER_SEQUENCE_NUMBER, p
            p = c.produce_one(topic, 0, batch(epoch + 1, 0))
            assert (p["error_code"], p["base_offset"]) == (0, 2), p
            p = c.produce_one(topic, 0, batch(epoch, 2))
            assert p["error_code"] == 47, p  # INVALID_PRODUCER_EPOCH
            p = c.produce_one(topic, 0, batch(epoch, 0))
            assert p["error_code"] == 47, "a retry of the fenced epoch was accepted: %r" % p
            assert c.list_offsets(topic, 0, -1)["offset"] == 4


@harness.timeout(120)
def test_confluent_idempotent_exactly_once():
    """librdkafka with enable.idempotence=true produces 1000 records; each is read back once."""
    topic = "idem-confluent"
    count = 1000
    with Broker({"num.partitions": 2}, name="idem-confluent") as b:
        b.create_topic(topic, 2)
        errors = []
        acked = []

        def on_delivery(err, msg):
            if err is not None:
                errors.append(str(err))
            else:
                acked.append((msg.partition(), msg.offset()))

        producer = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True,
                             "acks": "all", "linger.ms": 5, "batch.num.messages": 50,
                             "max.in.flight": 5, "message.timeout.ms": 30000})
        for i in range(count):
            producer.produce(topic, value=b"idem-%d" % i, partition=i % 2, on_delivery=on_delivery)
            producer.poll(0)
        assert producer.flush(60) == 0, "records not delivered"
        assert not errors, errors[:5]
        assert len(acked) == count and len(set(acked)) == count, len(acked)
        consumer = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "idem",
                             "enable.auto.commit": False, "enable.partition.eof": True,
                             "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100})
        try:
            consumer.assign([TopicPartition(topic, p, 0) for p in range(2)])
            values = []
            eof = set()
            for _ in range(120):
                if len(eof) == 2 and len(values) >= count:
                    break
                for msg in consumer.consume(500, timeout=1.0):
                    if msg.error() is not None:
                        if msg.error().code() == KafkaError._PARTITION_EOF:
                            eof.add(msg.partition())
                            continue
                        raise AssertionError("consumer error: %s" % msg.error())
                    values.append(msg.value())
        finally:
            consumer.close()
        assert len(values) == count, "read %d records, expected %d" % (len(values), count)
        assert sorted(values) == sorted(b"idem-%d" % i for i in range(count)), "records differ"
        with b.client() as c:
            ends = [c.list_offsets(topic, p, -1)["offset"] for p in range(2)]
        assert sum(ends) == count, ends
