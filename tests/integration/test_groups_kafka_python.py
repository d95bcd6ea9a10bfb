"""Consumer groups with kafka-python 2.0.2 (api_version auto-detected, older group API
versions than librdkafka's): KafkaConsumer(group_id=...) subscribe, commit with metadata and a
second instance resuming there; two instances (one thread each) sharing a topic; the admin
client's list_consumer_groups, describe_consumer_groups, list_consumer_group_offsets and
delete_consumer_groups."""

import logging
import threading
import time

import harness
from harness import Broker

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as Errors
from kafka.structs import OffsetAndMetadata

logging.basicConfig(level=logging.WARNING)
logging.getLogger("kafka").setLevel(logging.CRITICAL)

BASE = {"group.initial.rebalance.delay.ms": 0, "group.min.session.timeout.ms": 1000,
        "offsets.topic.num.partitions": 5, "num.partitions": 1}


wait_until = harness.wait_until
BrokerDied = harness.BrokerDied


def new_consumer(b, group, **kw):
    conf = dict(bootstrap_servers=b.bootstrap, group_id=group, enable_auto_commit=False,
                auto_offset_reset="earliest", session_timeout_ms=6000,
                heartbeat_interval_ms=500, api_version_auto_timeout_ms=10000,
                fetch_max_wait_ms=100, metadata_max_age_ms=2000, request_timeout_ms=15000)
    conf.update(kw)
    return KafkaConsumer(**conf)


def close_consumer(b, consumer):
    """kafka-python's close() waits for a LeaveGroup answer: skip it when the broker is gone
    (the runner kills whatever is left)."""
    if b.running():
        consumer.close(autocommit=False)


def produce(b, topic, per_partition, tag):
    """Returns {(partition, offset): value}."""
    producer = KafkaProducer(bootstrap_servers=b.bootstrap, acks="all", linger_ms=5,
                             api_version_auto_timeout_ms=10000, request_timeout_ms=15000)
    try:
        futures = []
        for p, n in per_partition.items():
            for i in range(n):
                value = ("%s-%d-%d" % (tag, p, i)).encode()
                futures.append((value, producer.send(topic, value=value, partition=p)))
        producer.flush(timeout=60)
        out = {}
        for value, f in futures:
            meta = f.get(timeout=30)
            out[(meta.partition, meta.offset)] = value
        return out
    finally:
        producer.close(timeout=10)


def poll_records(b, consumer, want, timeout_s=60):
    """Polls until want[p] records of each partition p arrived; returns {p: [(offset, value)]}."""
    got = {p: [] for p in want}
    deadline = time.monotonic() + timeout_s
    while not all(len(got[p]) >= n for p, n in want.items()):
        if not b.running():
            raise BrokerDied("broker exited (code %s)" % b.proc.returncode)
        if time.monotonic() >= deadline:
            raise AssertionError("read %r of %r; assignment %r" % (
                {p: len(v) for p, v in got.items()}, want, consumer.assignment()))
        for tp, msgs in consumer.poll(timeout_ms=300, max_records=500).items():
            got.setdefault(tp.partition, []).extend((m.offset, m.value) for m in msgs)
    return got


@harness.timeout(120)
def test_subscribe_commit_and_resume():
    topic, group = "kpyg-resume", "kpyg-resume"
    with Broker(BASE, name="kpyg-resume") as b:
        b.create_topic(topic, 3)
        records = produce(b, topic, {0: 30, 1: 30, 2: 30}, "r")
        tps = [TopicPartition(topic, p) for p in range(3)]

        c1 = new_consumer(b, group)
        try:
            c1.subscribe([topic])
            got = poll_records(b, c1, {0: 30, 1: 30, 2: 30})
            assert c1.assignment() == set(tps), c1.assignment()
            for p in range(3):
                assert got[p] == [(o, records[(p, o)]) for o in range(30)], p
            c1.commit({tps[0]: OffsetAndMetadata(10, "ten"), tps[1]: OffsetAndMetadata(20, "twenty"),
                       tps[2]: OffsetAndMetadata(30, "")})
            assert [c1.committed(tp) for tp in tps] == [10, 20, 30]
        finally:
            close_consumer(b, c1)

        # A second instance (latest: it would read nothing without the commits) resumes there.
        c2 = new_consumer(b, group, auto_offset_reset="latest")
        try:
            c2.subscribe([topic])
            got = poll_records(b, c2, {0: 20, 1: 10, 2: 0})
            assert [c2.committed(tp) for tp in tps] == [10, 20, 30], \
                [c2.committed(tp) for tp in tps]
            assert [o for o, _ in got[0]] == list(range(10, 30)), got[0][:3]
            assert [o for o, _ in got[1]] == list(range(20, 30)), got[1][:3]
            assert got[2] == [], got[2][:3]
            c2.commit()  # Positions: 30, 30, 30.
            assert [c2.committed(tp) for tp in tps] == [30, 30, 30]
        finally:
            close_consumer(b, c2)

        more = produce(b, topic, {0: 5, 1: 0, 2: 0}, "more")
        c3 = new_consumer(b, group, auto_offset_reset="latest")
        try:
            c3.subscribe([topic])
            got = poll_records(b, c3, {0: 5})
            assert got[0] == [(o, more[(0, o)]) for o in range(30, 35)], got[0]
        finally:
            close_consumer(b, c3)
        b.assert_alive()


class Runner:
    """One KafkaConsumer driven by its own thread: poll, record, commit after each batch."""

    def __init__(self, b, name, consumer, topic):
        self.broker = b
        self.name = name
        self.consumer = consumer
        self.topic = topic
        self.lock = threading.Lock()
        self.messages = []
        self.assigned = set()
        self.committed = {}
        self.error = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.consumer.subscribe([self.topic])
            while not self.stop.is_set():
                batch = self.consumer.poll(timeout_ms=200, max_records=500)
                with self.lock:
                    self.assigned = {tp.partition for tp in self.consumer.assignment()}
                    for tp, msgs in batch.items():
                        self.messages.extend((tp.partition, m.offset, m.value) for m in msgs)
                if batch:
                    offsets = {tp: OffsetAndMetadata(msgs[-1].offset + 1, "")
                               for tp, msgs in batch.items()}
                    try:
                        self.consumer.commit(offsets)
                        with self.lock:
                            for tp, om in offsets.items():
                                self.committed[tp.partition] = om.offset
                    except Errors.CommitFailedError:
                        pass  # A rebalance: the next owner rereads from the last commit.
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            try:
                close_consumer(self.broker, self.consumer)
            except Exception:  # noqa: BLE001
                pass

    def snapshot(self):
        with self.lock:
            return set(self.assigned), list(self.messages), dict(self.committed)

    def close(self):
        """Stops the thread (bounded); returns False if it is still running."""
        self.stop.set()
        self.thread.join(timeout=30)
        return not self.thread.is_alive()


@harness.timeout(120)
def test_two_instances_share_partitions():
    topic, group = "kpyg-share", "kpyg-share"
    with Broker(BASE, name="kpyg-share") as b:
        b.create_topic(topic, 4)
        runners = [Runner(b, "k1", new_consumer(b, group), topic)]
        try:
            wait_until(b, lambda: runners[0].snapshot()[0] == {0, 1, 2, 3}, 60, 0.1,
                             "the first instance to own every partition")
            runners.append(Runner(b, "k2", new_consumer(b, group), topic))

            def split():
                a, _, _ = runners[0].snapshot()
                c, _, _ = runners[1].snapshot()
                return len(a) == 2 and len(c) == 2 and a | c == {0, 1, 2, 3}
            wait_until(b, split, 60, 0.1, "two partitions each")
            for r in runners:
                assert r.error is None, (r.name, r.error)
            expected = produce(b, topic, {p: 40 for p in range(4)}, "s")

            def all_read():
                seen = set()
                for r in runners:
                    seen |= {(p, o) for p, o, _ in r.snapshot()[1]}
                return set(expected) <= seen
            wait_until(b, all_read, 60, 0.1, "every record read")
            reads = {}
            for r in runners:
                assigned, msgs, committed = r.snapshot()
                assert {p for p, _, _ in msgs} <= assigned, (r.name, assigned)
                for p, o, v in msgs:
                    reads.setdefault((p, o), []).append(v)
            bad = {k: v for k, v in reads.items() if v != [expected.get(k)]}
            assert not bad, "records not read exactly once: %r" % sorted(bad.items())[:5]
        finally:
            stopped = [r.close() for r in runners]
        assert all(stopped), "consumer threads did not stop: %r" % stopped
        for r in runners:
            assert r.error is None, (r.name, r.error)
        b.assert_alive()


@harness.timeout(120)
def test_admin_group_apis():
    topic = "kpyg-admin"
    # The default offsets.topic.num.partitions (50) here.
    overrides = {k: v for k, v in BASE.items() if k != "offsets.topic.num.partitions"}
    with Broker(overrides, name="kpyg-admin") as b:
        b.create_topic(topic, 2)
        produce(b, topic, {0: 3, 1: 3}, "a")
        idle = new_consumer(b, "kpyg-idle")
        try:
            idle.subscribe([topic])
            poll_records(b, idle, {0: 3, 1: 3})
            idle.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "idle-meta"),
                         TopicPartition(topic, 1): OffsetAndMetadata(3, "")})
        finally:
            close_consumer(b, idle)
        live = Runner(b, "live", new_consumer(b, "kpyg-live"), topic)
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=15000,
                                 api_version_auto_timeout_ms=10000)
        try:
            wait_until(b, lambda: live.snapshot()[0] == {0, 1}, 60, 0.1, "live member assigned")
            wait_until(b, lambda: live.snapshot()[2] == {0: 3, 1: 3}, 60, 0.1,
                             "live member committed")

            groups = set(admin.list_consumer_groups())
            assert {("kpyg-live", "consumer"), ("kpyg-idle", "consumer")} <= groups, groups

            (info,) = admin.describe_consumer_groups(["kpyg-live"])
            assert info.error_code == 0 and info.group == "kpyg-live", info
            assert (info.state, info.protocol_type, info.protocol) == ("Stable", "consumer",
                                                                       "range"), info
            (member,) = info.members
            assert member.client_id.startswith("kafka-python"), member
            assert list(member.member_metadata.subscription) == [topic], member.member_metadata
            assignment = {t: sorted(ps) for t, ps in member.member_assignment.assignment}
            assert assignment == {topic: [0, 1]}, member.member_assignment
            (empty,) = admin.describe_consumer_groups(["kpyg-idle"])
            assert empty.state == "Empty" and not empty.members, empty

            offsets = admin.list_consumer_group_offsets("kpyg-idle")
            assert offsets == {TopicPartition(topic, 0): OffsetAndMetadata(2, "idle-meta"),
                               TopicPartition(topic, 1): OffsetAndMetadata(3, "")}, offsets
            only = admin.list_consumer_group_offsets(
                "kpyg-live", partitions=[TopicPartition(topic, 1)])
            assert only == {TopicPartition(topic, 1): OffsetAndMetadata(3, "")}, only

            results = dict(admin.delete_consumer_groups(["kpyg-idle", "kpyg-live", "kpyg-none"]))
            assert results == {"kpyg-idle": Errors.NoError,
                               "kpyg-live": Errors.NonEmptyGroupError,
                               "kpyg-none": Errors.GroupIdNotFoundError}, results
            groups = {g for g, _ in admin.list_consumer_groups()}
            assert "kpyg-idle" not in groups and "kpyg-live" in groups, groups
            assert admin.list_consumer_group_offsets(
                "kpyg-idle", partitions=[TopicPartition(topic, 0)])[
                TopicPartition(topic, 0)].offset == -1
        finally:
            admin.close()
            stopped = live.close()
        assert stopped, "the live consumer's thread did not stop"
        assert live.error is None, live.error
        b.assert_alive()
