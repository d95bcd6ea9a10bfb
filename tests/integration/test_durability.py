"""Flush modes and cold reads, against the real binary.

- Both flush modes take and serve records; in durable mode an acks=all answer comes only after the
  broker synced the log (the broker reports each group commit at debug level), and the recovery
  point checkpoint reaches the log end without a clean stop.
- A per-topic flush.mode is accepted, a bad one is refused with INVALID_CONFIG naming the key.
- A fetch of data that is not in the page cache is read in by a fetch thread first (the broker
  logs fetch.cold_read), and the records come back intact."""

import os
import time

import harness
from harness import Broker

import confluent_kafka
from confluent_kafka.admin import AdminClient, NewTopic


def produce(bootstrap, topic, count, value_bytes=1000, acks="all"):
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": acks,
                                         "enable.idempotence": acks == "all",
                                         "linger.ms": 5, "message.timeout.ms": 30000})
    acked = []
    failed = []

    def report(err, msg):
        (failed if err else acked).append(err or (msg.partition(), msg.offset(), msg.value()))

    for i in range(count):
        value = (b"%08d" % i) * (value_bytes // 8)
        while True:
            try:
                producer.produce(topic, value=value, partition=0, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
    remaining = producer.flush(60)
    assert remaining == 0, "%d records not delivered" % remaining
    assert not failed, failed[:3]
    return acked


def consume_all(bootstrap, topic, expected, timeout_s=60):
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": harness.unique("g"),
                                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert not msg.error(), msg.error()
            got.append((msg.partition(), msg.offset(), msg.value()))
    finally:
        consumer.close()
    return got


def read_checkpoint(path):
    with open(path) as f:
        lines = f.read().split("\n")
    entries = {}
    for line in lines[2:]:
        parts = line.split()
        if len(parts) == 3:
            entries[(parts[0], int(parts[1]))] = int(parts[2])
    return entries


@harness.timeout(120)
def test_flush_modes_round_trip_and_checkpoint():
    for mode in ("durable", "async"):
        with Broker({"flush.mode": mode, "log.level": "debug",
                     "log.flush.offset.checkpoint.interval.ms": "500"}) as b:
            topic = harness.unique("flush-" + mode)
            acked = produce(b.bootstrap, topic, 300)
            assert [a[1] for a in acked] == list(range(300))
            got = consume_all(b.bootstrap, topic, 300)
            assert got == acked, "mode %s: consumed records differ from the acknowledged ones" % mode
            # The recovery point is checkpointed while running: durable mode syncs every append;
            # async mode syncs nothing by default, so its recovery point stays behind.
            path = os.path.join(b.data_dir, "recovery-point-offset-checkpoint")
            if mode == "durable":
                harness.wait_until(b, lambda: read_checkpoint(path).get((topic, 0)) == 300, 20,
                                   what="recovery point checkpoint at the log end")
            else:
                harness.wait_until(b, lambda: os.path.exists(path) and (topic, 0) in read_checkpoint(path), 20,
                                   what="a checkpoint naming the topic")
                assert read_checkpoint(path)[(topic, 0)] < 300


@harness.timeout(120)
def test_async_mode_flushes_by_flush_messages():
    with Broker({"flush.mode": "async", "log.flush.offset.checkpoint.interval.ms": "500"}) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        topic = harness.unique("flushmsgs")
        futures = admin.create_topics([NewTopic(topic, 1, 1, config={"flush.messages": "50"})])
        futures[topic].result(30)
        produce(b.bootstrap, topic, 120, acks="1")
        path = os.path.join(b.data_dir, "recovery-point-offset-checkpoint")
        # Flushes at 50 and 100 messages (batches may straddle them): the recovery point is past 50.
        harness.wait_until(b, lambda: read_checkpoint(path).get((topic, 0), 0) >= 50, 20,
                           what="a flush by flush.messages")


@harness.timeout(60)
def test_topic_flush_mode_config_is_checked():
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        good, bad = harness.unique("fm-good"), harness.unique("fm-bad")
        futures = admin.create_topics([NewTopic(good, 1, 1, config={"flush.mode": "async"}),
                                       NewTopic(bad, 1, 1, config={"flush.mode": "sometimes"})])
        futures[good].result(30)
        try:
            futures[bad].result(30)
            raise AssertionError("flush.mode=sometimes was accepted")
        except confluent_kafka.KafkaException as e:
            error = e.args[0]
            assert error.code() == confluent_kafka.KafkaError.INVALID_CONFIG, error
            assert "flush.mode" in error.str(), error.str()
        acked = produce(b.bootstrap, good, 20)
        assert consume_all(b.bootstrap, good, 20) == acked


def resident_bytes(path):
    """Bytes of the file in the page cache, from util-linux's fincore (mincore(2)); None if unknown.
    (A probe read with RWF_NOWAIT would start a readahead of the very pages it asks about.)"""
    try:
        out = harness.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path], timeout_s=10)
    except Exception:  # noqa: BLE001 - no fincore: unknown
        return None
    text = out.stdout.decode().strip()
    return int(text) if text.isdigit() else None


def evict(path):
    """Drops the file's pages from the page cache; True if the kernel let them go."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return resident_bytes(path) == 0


@harness.timeout(120)
def test_cold_read_is_prefetched_off_the_network_thread():
    with Broker({"log.level": "debug"}) as b:
        topic = harness.unique("cold")
        acked = produce(b.bootstrap, topic, 3000)  # ~3 MB
        segment = os.path.join(b.partition_dir(topic, 0), "00000000000000000000.log")
        if not evict(segment):
            raise harness.Skip("the kernel keeps this file's pages cached (cannot make a cold read here)")
        got = consume_all(b.bootstrap, topic, 3000)
        assert got == acked
        with open(b.stderr_path) as f:
            cold = f.read().count("event=fetch.cold_read")
        assert cold >= 1, "no fetch was treated as a cold read"
