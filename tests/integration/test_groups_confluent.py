"""Consumer groups with confluent-kafka (librdkafka 2.0) against the real broker.

Consumers that must be killed run as subprocesses of this file (`worker` mode below): they
subscribe, print one JSON line per callback, message and commit, commit synchronously after
each batch and in the revoke callback, and close (LeaveGroup) when their stdin closes.  The
tests check that the members' partitions are disjoint and cover the topic, that every record is
read exactly once, that no partition has two owners at once (ownership intervals taken from
the callbacks, on the system-wide monotonic clock), that partitions of a SIGKILLed member move
after its session timeout, that an eleventh member on ten partitions gets none, that
cooperative-sticky rebalances incrementally, that range and roundrobin assign as Kafka's
assignors do, and that committed offsets are where a new member starts, across consumer and
broker restarts."""

import json
import os
import subprocess
import sys
import threading
import time

import harness
import kproto
from harness import Broker

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

BASE = {"group.initial.rebalance.delay.ms": 0, "group.min.session.timeout.ms": 1000,
        "offsets.topic.num.partitions": 5, "num.partitions": 1}
SESSION_MS = 6000


wait_until = harness.wait_until
BrokerDied = harness.BrokerDied


def consumer_config(bootstrap, group, strategy="range,roundrobin", extra=None):
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": 500, "partition.assignment.strategy": strategy,
            "socket.timeout.ms": 10000, "fetch.wait.max.ms": 100, "topic.metadata.refresh.interval.ms": 2000}
    conf.update(extra or {})
    return conf


def produce(bootstrap, topic, per_partition, tag):
    """Writes per_partition[p] records to each partition p; returns {(p, offset): value}."""
    delivered = {}
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered[(msg.partition(), msg.offset())] = msg.value()

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all",
                         "message.timeout.ms": 30000})
    for p, n in per_partition.items():
        for i in range(n):
            producer.produce(topic, value=("%s-%d-%d" % (tag, p, i)).encode(), partition=p,
                             on_delivery=on_delivery)
            producer.poll(0)
    assert producer.flush(60) == 0, "records not delivered within 60 s"
    assert not errors, errors[:5]
    assert len(delivered) == sum(per_partition.values())
    return delivered


def describe(b, group):
    with b.client() as c:
        c.api_versions(0)
        v = min(c.versions[kproto.DESCRIBE_GROUPS][1], 5)
        resp = c.call(kproto.DESCRIBE_GROUPS, v, {"groups": [group]})
        (g,) = resp["groups"]
        return g


def broker_assignments(b, group, topic_members=None):
    """(state, protocol, [sorted (topic, partition) list per member]) from DescribeGroups."""
    g = describe(b, group)
    parts = []
    for m in g["members"]:
        a = kproto.parse_consumer_assignment(m["member_assignment"])
        parts.append(sorted((t, p) for t, ps in a.items() for p in ps))
    return g["group_state"], g["protocol_data"], sorted(parts)


# ---------------------------------------------------------------------------------------------
# Worker subprocesses.


def worker_main(cfg):
    """Runs in a subprocess: one subscribed consumer that reports everything as JSON lines."""
    lock = threading.Lock()

    def out(ev, **kw):
        kw["ev"] = ev
        kw["t"] = time.monotonic()
        with lock:
            sys.stdout.write(json.dumps(kw) + "\n")
            sys.stdout.flush()

    consumer = Consumer(cfg["conf"])
    owned = set()
    consumed_since_commit = [False]

    def commit(why):
        if not consumed_since_commit[0]:
            return
        try:
            offs = consumer.commit(asynchronous=False)
            consumed_since_commit[0] = False
            out("commit", why=why, offsets=[[tp.topic, tp.partition, tp.offset] for tp in offs
                                            if tp.error is None],
                errors=[[tp.topic, tp.partition, str(tp.error)] for tp in offs
                        if tp.error is not None])
        except KafkaException as e:
            out("commit_error", why=why, error=str(e))

    def on_assign(c, parts):
        owned.update((tp.topic, tp.partition) for tp in parts)
        out("assign", parts=sorted([tp.topic, tp.partition] for tp in parts),
            owned=sorted(owned))

    def on_revoke(c, parts):
        commit("revoke")
        owned.difference_update((tp.topic, tp.partition) for tp in parts)
        out("revoke", parts=sorted([tp.topic, tp.partition] for tp in parts), owned=sorted(owned))

    def on_lost(c, parts):
        owned.difference_update((tp.topic, tp.partition) for tp in parts)
        out("lost", parts=sorted([tp.topic, tp.partition] for tp in parts), owned=sorted(owned))

    stop = threading.Event()

    def watch_stdin():
        try:
            sys.stdin.read()
        finally:
            stop.set()
    threading.Thread(target=watch_stdin, daemon=True).start()

    consumer.subscribe(cfg["topics"], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    out("started", pid=os.getpid())
    while not stop.is_set():
        msgs = consumer.consume(500, timeout=0.2)
        for m in msgs:
            if m.error() is not None:
                if m.error().code() != KafkaError._PARTITION_EOF:
                    out("error", error=str(m.error()))
                continue
            out("msg", topic=m.topic(), p=m.partition(), o=m.offset(), v=m.value().decode())
            consumed_since_commit[0] = True
        if msgs:
            commit("batch")
    consumer.close()
    out("closed")


class Worker:
    """A consumer subprocess; its events are collected by a reader thread."""

    def __init__(self, name, conf, topics):
        self.name = name
        self.events = []
        self.lock = threading.Lock()
        self.stderr_path = os.path.join(harness.tmp_root(), "worker-%s-%d.err" % (name, id(self)))
        err = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(
                [PYTHON, os.path.abspath(__file__), "worker",
                 json.dumps({"conf": conf, "topics": topics})],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, cwd=HERE)
        finally:
            err.close()
        self.killed_at = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(ev)

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def owned(self):
        """The partitions it holds now, per its last callback (empty once killed)."""
        if self.killed_at is not None:
            return set()
        owned = set()
        for ev in self.snapshot():
            if ev["ev"] in ("assign", "revoke", "lost"):
                owned = {tuple(x) for x in ev["owned"]}
        return owned

    def messages(self):
        return [ev for ev in self.snapshot() if ev["ev"] == "msg"]

    def committed(self):
        """{(topic, partition): offset} of its last successful commits."""
        out = {}
        for ev in self.snapshot():
            if ev["ev"] == "commit":
                for t, p, o in ev["offsets"]:
                    # librdkafka lists a partition whose stored offset is already committed
                    # with offset -1001 (nothing sent for it): that keeps the earlier commit.
                    if o >= 0:
                        out[(t, p)] = o
        return out

    def intervals(self, end):
        """[(topic, partition, start, stop)] of ownership from the callbacks."""
        start = {}
        out = []
        for ev in self.snapshot():
            if ev["ev"] == "assign":
                for t, p in ev["parts"]:
                    start.setdefault((t, p), ev["t"])
            elif ev["ev"] in ("revoke", "lost"):
                for t, p in ev["parts"]:
                    if (t, p) in start:
                        out.append((t, p, start.pop((t, p)), ev["t"]))
        stop = self.killed_at if self.killed_at is not None else end
        out += [(t, p, s, stop) for (t, p), s in start.items()]
        return out

    def kill(self):
        """SIGKILL: no LeaveGroup, no commit."""
        self.killed_at = time.monotonic()
        self.proc.kill()
        self.proc.wait(timeout=10)

    def close(self, timeout_s=30):
        """Closes stdin: the consumer commits nothing more, leaves the group and exits."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError("worker %s did not close within %ds" % (self.name, timeout_s))
        self.reader.join(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def errors(self):
        return [ev for ev in self.snapshot() if ev["ev"] in ("error", "commit_error")]

    def stderr_tail(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""


def assignment_ok(workers, topic, partitions, sizes):
    """The live workers' partitions are disjoint, cover the topic and have these sizes."""
    owned = [w.owned() for w in workers]
    every = [tp for o in owned for tp in o]
    if len(every) != len(set(every)):
        return False
    if set(every) != {(topic, p) for p in range(partitions)}:
        return False
    return sorted(len(o) for o in owned) == sorted(sizes)


def describe_workers(workers):
    return "; ".join("%s owns %s (%d msgs, commits %s, errors %s)" % (
        w.name, sorted(w.owned()), len(w.messages()), w.committed(), w.errors()[-3:])
        for w in workers)


def wait_assignment(b, group, workers, topic, partitions, sizes, timeout_s=60):
    def ok():
        if not assignment_ok(workers, topic, partitions, sizes):
            return False
        state, _, parts = broker_assignments(b, group)
        mine = sorted(sorted(w.owned()) for w in workers)
        return state == "Stable" and parts == mine
    try:
        wait_until(b, ok, timeout_s, 0.2, "assignment sizes %s over %d partitions" % (
            sizes, partitions))
    except AssertionError as e:
        raise AssertionError("%s: %s; broker says %r" % (e, describe_workers(workers),
                                                         broker_assignments(b, group)))


def wait_consumed(b, workers, expected, timeout_s=60):
    """Until every (partition, offset) of `expected` was read and the reader committed past it."""
    def done():
        seen = {}
        for w in workers:
            for m in w.messages():
                seen[(m["p"], m["o"])] = w
        if not set(expected) <= set(seen):
            return False
        committed = {}
        for w in workers:
            for (t, p), o in w.committed().items():
                committed[p] = max(committed.get(p, -1), o)
        ends = {}
        for p, o in expected:
            ends[p] = max(ends.get(p, 0), o + 1)
        return all(committed.get(p, -1) >= e for p, e in ends.items())
    try:
        wait_until(b, done, timeout_s, 0.2, "%d records read and committed" % len(expected))
    except AssertionError as e:
        seen = {(m["p"], m["o"]) for w in workers for m in w.messages()}
        raise AssertionError("%s: %d of %d read; %s" % (e, len(set(expected) & seen), len(expected),
                                                         describe_workers(workers)))


def check_exactly_once(workers, expected):
    reads = {}
    for w in workers:
        for m in w.messages():
            reads.setdefault((m["p"], m["o"]), []).append((w.name, m["v"]))
    problems = []
    for key, value in sorted(expected.items()):
        got = reads.get(key, [])
        if len(got) != 1:
            problems.append("p%d@%d read %d times (%s)" % (key[0], key[1], len(got),
                                                           [n for n, _ in got]))
        elif got[0][1] != value.decode():
            problems.append("p%d@%d value %r != %r" % (key[0], key[1], got[0][1], value))
    extra = set(reads) - set(expected)
    if extra:
        problems.append("read records never produced: %s" % sorted(extra)[:5])
    assert not problems, "%d problems: %s" % (len(problems), "; ".join(problems[:10]))


def check_single_owner(workers):
    """No partition is held by two members at the same moment."""
    end = time.monotonic()
    by_part = {}
    for w in workers:
        for t, p, s, e in w.intervals(end):
            by_part.setdefault((t, p), []).append((s, e, w.name))
    problems = []
    for tp, ivs in by_part.items():
        ivs.sort()
        for (s1, e1, n1), (s2, e2, n2) in zip(ivs, ivs[1:]):
            if s2 < e1:
                problems.append("%s-%d held by %s and %s at once" % (tp[0], tp[1], n1, n2))
    assert not problems, "; ".join(problems)


@harness.timeout(180)
def test_members_share_rebalance_and_failover():
    """Two members split four partitions 2/2 and read every record once; a third joins (1/1/2);
    one is SIGKILLed and its partitions move to the other two after session.timeout.ms; the
    rest leave and the group is Empty."""
    topic, group = "grp-orders", "grp-main"
    with Broker(BASE, name="grp-main") as b:
        b.create_topic(topic, 4)
        workers = []
        try:
            conf = consumer_config(b.bootstrap, group)
            w1 = Worker("w1", conf, [topic])
            w2 = Worker("w2", conf, [topic])
            workers += [w1, w2]
            wait_assignment(b, group, workers, topic, 4, [2, 2])
            expected = produce(b.bootstrap, topic, {p: 50 for p in range(4)}, "one")
            wait_consumed(b, workers, expected)
            check_exactly_once(workers, expected)
            for w in (w1, w2):
                parts = {m["p"] for m in w.messages()}
                assert parts == {p for _, p in w.owned()}, (w.name, parts, w.owned())

            # A third member: the assignment changes to 1/1/2.
            w3 = Worker("w3", conf, [topic])
            workers.append(w3)
            wait_assignment(b, group, workers, topic, 4, [1, 1, 2])
            expected.update(produce(b.bootstrap, topic, {p: 30 for p in range(4)}, "two"))
            wait_consumed(b, workers, expected)
            check_exactly_once(workers, expected)

            # SIGKILL the member with the most partitions; no LeaveGroup.
            victim = max(workers, key=lambda w: len(w.owned()))
            moved = victim.owned()
            victim.kill()
            survivors = [w for w in workers if w is not victim]
            wait_assignment(b, group, survivors, topic, 4, [2, 2], timeout_s=60)
            for w in survivors:
                assert any(e["ev"] == "assign" and e["t"] > victim.killed_at for e in w.snapshot()), \
                    "%s was not assigned anything after the kill" % w.name
            assert moved <= set().union(*(w.owned() for w in survivors)), moved
            expected.update(produce(b.bootstrap, topic, {p: 20 for p in range(4)}, "three"))
            wait_consumed(b, workers, expected)
            check_exactly_once(workers, expected)
            check_single_owner(workers)

            for w in survivors:
                w.close()
            for w in survivors:
                assert any(e["ev"] == "closed" for e in w.snapshot()), w.name
            g = describe(b, group)
            assert g["group_state"] == "Empty" and g["members"] == [], \
                "after every member closed (LeaveGroup): %r" % g
            for w in workers:
                assert not [e for e in w.errors() if e["ev"] == "error"], (w.name, w.errors())
        except BaseException:
            for w in workers:
                print("---- %s stderr tail ----\n%s" % (w.name, w.stderr_tail()))
            raise
        finally:
            for w in workers:
                w.stop()
        b.assert_alive()


# ---------------------------------------------------------------------------------------------
# In-process consumers (no kill needed): polled round-robin from this thread.


class Member:
    def __init__(self, name, conf, topics):
        self.name = name
        self.log = []
        self.owned = set()
        self.consumer = Consumer(conf)
        self.consumer.subscribe(topics, on_assign=self._assign, on_revoke=self._revoke,
                                on_lost=self._lost)

    def _assign(self, c, parts):
        ps = {(tp.topic, tp.partition) for tp in parts}
        self.owned |= ps
        self.log.append(("assign", ps))

    def _revoke(self, c, parts):
        ps = {(tp.topic, tp.partition) for tp in parts}
        self.owned -= ps
        self.log.append(("revoke", ps))

    def _lost(self, c, parts):
        ps = {(tp.topic, tp.partition) for tp in parts}
        self.owned -= ps
        self.log.append(("lost", ps))

    def poll(self):
        msg = self.consumer.poll(0.05)
        if msg is not None and msg.error() is not None and \
                msg.error().code() != KafkaError._PARTITION_EOF:
            raise AssertionError("%s: %s" % (self.name, msg.error()))
        return msg

    def close(self):
        self.consumer.close()


def poll_until(b, members, predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while True:
        if not b.running():
            raise BrokerDied("broker exited (code %s) while waiting for %s" % (
                b.proc.returncode, what))
        for m in members:
            m.poll()
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %ds waiting for %s: %s" % (
                timeout_s, what, "; ".join("%s owns %s" % (m.name, sorted(m.owned))
                                           for m in members)))


def cover(members, all_parts, sizes):
    every = [tp for m in members for tp in m.owned]
    return (len(every) == len(set(every)) and set(every) == set(all_parts)
            and sorted(len(m.owned) for m in members) == sorted(sizes))


def stable_in_broker(b, group, members):
    state, _, parts = broker_assignments(b, group)
    return state == "Stable" and parts == sorted(sorted(m.owned) for m in members)


@harness.timeout(150)
def test_eleventh_member_gets_nothing():
    topic, group = "grp-ten", "grp-eleven"
    with Broker(BASE, name="grp-eleven") as b:
        b.create_topic(topic, 10)
        members = []
        try:
            for i in range(11):
                members.append(Member("m%d" % i, consumer_config(b.bootstrap, group), [topic]))
            parts = [(topic, p) for p in range(10)]
            poll_until(b, members, lambda: cover(members, parts, [1] * 10 + [0]) and
                       stable_in_broker(b, group, members), 90, "10 members with one partition")
            g = describe(b, group)
            assert len(g["members"]) == 11, g
            sizes = sorted(sum(len(ps) for ps in kproto.parse_consumer_assignment(
                m["member_assignment"]).values()) for m in g["members"])
            assert sizes == [0] + [1] * 10, sizes
        finally:
            for m in members:
                m.close()
        b.assert_alive()


@harness.timeout(150)
def test_cooperative_sticky_incremental():
    """cooperative-sticky: when a third member joins, the first two keep what they have and give
    up exactly one partition (incremental revoke); when it leaves, its partition is added to one
    of them with no revoke at all."""
    topic, group = "grp-coop", "grp-coop"
    with Broker(BASE, name="grp-coop") as b:
        b.create_topic(topic, 4)
        parts = [(topic, p) for p in range(4)]
        conf = consumer_config(b.bootstrap, group, "cooperative-sticky")
        m1 = Member("m1", conf, [topic])
        m2 = Member("m2", conf, [topic])
        m3 = None
        try:
            poll_until(b, [m1, m2], lambda: cover([m1, m2], parts, [2, 2]) and
                       stable_in_broker(b, group, [m1, m2]), 60, "2/2")
            assert broker_assignments(b, group)[1] == "cooperative-sticky"
            before = {m.name: set(m.owned) for m in (m1, m2)}
            mark = {m.name: len(m.log) for m in (m1, m2)}

            m3 = Member("m3", conf, [topic])
            poll_until(b, [m1, m2, m3], lambda: cover([m1, m2, m3], parts, [1, 1, 2]) and
                       stable_in_broker(b, group, [m1, m2, m3]), 60, "1/1/2")
            revoked = set()
            for m in (m1, m2):
                events = m.log[mark[m.name]:]
                for kind, ps in events:
                    assert kind != "lost", (m.name, events)
                    if kind == "revoke":
                        revoked |= ps
                        assert ps <= before[m.name], (m.name, ps, before[m.name])
                assert m.owned <= before[m.name], "%s gained %s" % (m.name, m.owned - before[m.name])
                assert m.owned, "%s lost everything" % m.name
            assert len(revoked) == 1, "one partition should move incrementally; revoked %s" % (
                sorted(revoked),)
            assert m3.owned == revoked, (m3.owned, revoked)
            assert [(k, ps) for k, ps in m3.log if ps] == [("assign", revoked)], m3.log

            mark = {m.name: len(m.log) for m in (m1, m2)}
            before = {m.name: set(m.owned) for m in (m1, m2)}
            m3.close()
            m3 = None
            poll_until(b, [m1, m2], lambda: cover([m1, m2], parts, [2, 2]) and
                       stable_in_broker(b, group, [m1, m2]), 60, "2/2 again")
            for m in (m1, m2):
                events = [e for e in m.log[mark[m.name]:] if e[1]]
                assert all(kind == "assign" for kind, _ in events), (m.name, events)
                assert before[m.name] <= m.owned, (m.name, before[m.name], m.owned)
        finally:
            for m in (m1, m2, m3):
                if m is not None:
                    m.close()
        b.assert_alive()


@harness.timeout(150)
def test_range_and_roundrobin():
    """Two members, two topics of three partitions: range gives one member partitions 0-1 of
    both topics and the other partition 2 of both (4/2); roundrobin deals the six partitions
    alternately (3/3); a member offering range,roundrobin with one offering only roundrobin
    makes the group use roundrobin."""
    t1, t2 = "grp-a", "grp-b"
    ranged = sorted([((t1, 0), (t1, 1), (t2, 0), (t2, 1)), ((t1, 2), (t2, 2))])
    dealt = sorted([((t1, 0), (t1, 2), (t2, 1)), ((t1, 1), (t2, 0), (t2, 2))])
    with Broker(BASE, name="grp-assignors") as b:
        b.create_topic(t1, 3)
        b.create_topic(t2, 3)
        parts = [(t, p) for t in (t1, t2) for p in range(3)]
        for group, s1, s2, want, sizes, expect in (
                ("grp-range", "range", "range", "range", [4, 2], ranged),
                ("grp-rr", "roundrobin", "roundrobin", "roundrobin", [3, 3], dealt),
                ("grp-mixed", "range,roundrobin", "roundrobin", "roundrobin", [3, 3], dealt)):
            m1 = Member(group + "-1", consumer_config(b.bootstrap, group, s1), [t1, t2])
            m2 = Member(group + "-2", consumer_config(b.bootstrap, group, s2), [t1, t2])
            try:
                poll_until(b, [m1, m2], lambda: cover([m1, m2], parts, sizes) and
                           stable_in_broker(b, group, [m1, m2]), 60, "%s %s" % (group, sizes))
                state, protocol, _ = broker_assignments(b, group)
                assert protocol == want, "%s: group protocol %r, expected %r" % (
                    group, protocol, want)
                shapes = sorted(tuple(sorted(m.owned)) for m in (m1, m2))
                assert shapes == expect, "%s: %s, expected %s" % (group, shapes, expect)
            finally:
                m1.close()
                m2.close()
        b.assert_alive()


# ---------------------------------------------------------------------------------------------
# Committed offsets.


def read_from(b, group, topic, counts, timeout_s=60, seek=None):
    """A new member of `group` (auto.offset.reset=latest: without a committed offset it would
    read nothing) reads counts[p] records of each partition p.  Returns ({p: [offsets]},
    {p: committed offset}) and closes (after an optional seek/replay check)."""
    c = Consumer(consumer_config(b.bootstrap, group, extra={"auto.offset.reset": "latest"}))
    got = {p: [] for p in counts}
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + timeout_s
        while not all(len(got[p]) >= n for p, n in counts.items()):
            if not b.running():
                raise BrokerDied("broker exited (code %s)" % b.proc.returncode)
            if time.monotonic() >= deadline:
                committed = c.committed([TopicPartition(topic, p) for p in counts], timeout=10)
                raise AssertionError("group %s: read %r of %r; committed %r; assignment %r" % (
                    group, {p: len(v) for p, v in got.items()}, counts,
                    [(tp.partition, tp.offset) for tp in committed], c.assignment()))
            for msg in c.consume(100, timeout=0.5):
                if msg.error() is None:
                    got[msg.partition()].append(msg.offset())
        committed = {tp.partition: tp.offset for tp in
                     c.committed([TopicPartition(topic, p) for p in counts], timeout=10)}
        if seek is not None:
            p, offset, n = seek
            c.seek(TopicPartition(topic, p, offset))
            replay = []
            deadline = time.monotonic() + timeout_s
            while len(replay) < n:
                assert time.monotonic() < deadline and b.running(), "seek replay: %r" % replay
                for msg in c.consume(100, timeout=0.5):
                    if msg.error() is None and msg.partition() == p:
                        replay.append(msg.offset())
            assert replay[:n] == list(range(offset, offset + n)), "after seek(%d): %r" % (
                offset, replay[:n])
        return got, committed, c
    except BaseException:
        c.close()
        raise


@harness.timeout(180)
def test_committed_offsets_across_consumer_and_broker_restarts():
    topic, group = "grp-commit", "grp-commit"
    with Broker(BASE, name="grp-commit") as b:
        b.create_topic(topic, 2)
        produce(b.bootstrap, topic, {0: 50, 1: 50}, "c")

        # The first member reads from the beginning, commits 20 and 30 explicitly, seeks back
        # on partition 0 and sees the records again.
        c = Consumer(consumer_config(b.bootstrap, group))
        try:
            c.subscribe([topic])
            got = {0: [], 1: []}
            deadline = time.monotonic() + 60
            while not (len(got[0]) >= 50 and len(got[1]) >= 50):
                assert time.monotonic() < deadline and b.running(), {p: len(v) for p, v in got.items()}
                for msg in c.consume(100, timeout=0.5):
                    if msg.error() is None:
                        got[msg.partition()].append(msg.offset())
            assert got == {0: list(range(50)), 1: list(range(50))}, got
            res = c.commit(offsets=[TopicPartition(topic, 0, 20), TopicPartition(topic, 1, 30)],
                           asynchronous=False)
            assert all(tp.error is None for tp in res), res
            c.seek(TopicPartition(topic, 0, 10))
            replay = []
            deadline = time.monotonic() + 60
            while len(replay) < 40:
                assert time.monotonic() < deadline and b.running(), replay
                for msg in c.consume(100, timeout=0.5):
                    if msg.error() is None:
                        assert msg.partition() == 0, "only partition 0 was rewound: %r" % (
                            (msg.partition(), msg.offset()),)
                        replay.append(msg.offset())
            assert replay == list(range(10, 50)), replay
        finally:
            c.close()

        # A new member starts where the group committed.
        got, committed, c = read_from(b, group, topic, {0: 30, 1: 20})
        try:
            assert committed == {0: 20, 1: 30}, committed
            assert got == {0: list(range(20, 50)), 1: list(range(30, 50))}, got
            res = c.commit(offsets=[TopicPartition(topic, 0, 40), TopicPartition(topic, 1, 45)],
                           asynchronous=False)
            assert all(tp.error is None for tp in res), res
        finally:
            c.close()

        assert any(os.path.isdir(b.partition_dir("__consumer_offsets", p))
                   for p in range(BASE["offsets.topic.num.partitions"])), \
            "no __consumer_offsets partition directory in %s: %s" % (
                b.data_dir, sorted(os.listdir(b.data_dir)))

        # After a clean broker restart, and then after a SIGKILL, the group resumes there.
        for hard, (start0, start1), nxt in ((False, (40, 45), (44, 48)),
                                            (True, (44, 48), None)):
            b.restart(hard=hard)
            got, committed, c = read_from(b, group, topic, {0: 50 - start0, 1: 50 - start1},
                                          seek=(1, 45, 5))
            try:
                assert committed == {0: start0, 1: start1}, "after %s restart: committed %r" % (
                    "a hard" if hard else "a clean", committed)
                assert got == {0: list(range(start0, 50)), 1: list(range(start1, 50))}, got
                if nxt is not None:
                    res = c.commit(offsets=[TopicPartition(topic, 0, nxt[0]),
                                            TopicPartition(topic, 1, nxt[1])], asynchronous=False)
                    assert all(tp.error is None for tp in res), res
            finally:
                c.close()
        b.assert_alive()


@harness.timeout(90)
def test_admin_list_groups():
    """AdminClient.list_groups (ListGroups + DescribeGroups): a stable group with its member and
    assignment, an empty group."""
    from confluent_kafka.admin import AdminClient
    topic = "grp-admin"
    with Broker(BASE, name="grp-admin") as b:
        b.create_topic(topic, 2)
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        m = Member("admin-1", consumer_config(b.bootstrap, "grp-live"), [topic])
        try:
            poll_until(b, [m], lambda: len(m.owned) == 2 and stable_in_broker(b, "grp-live", [m]),
                       60, "one member with both partitions")
            e = Consumer(consumer_config(b.bootstrap, "grp-idle"))
            try:
                res = e.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
                assert all(tp.error is None for tp in res), res
            finally:
                e.close()
            groups = {g.id: g for g in admin.list_groups(timeout=15)}
            assert {"grp-live", "grp-idle"} <= set(groups), sorted(groups)
            live = groups["grp-live"]
            assert live.error is None, live.error
            assert (live.state, live.protocol_type, live.protocol) == ("Stable", "consumer",
                                                                       "range"), \
                (live.state, live.protocol_type, live.protocol)
            (member,) = live.members
            assert member.client_id == "rdkafka", member.client_id
            assert kproto.parse_consumer_assignment(member.assignment) == {topic: [0, 1]}, \
                member.assignment
            assert kproto.parse_consumer_subscription(member.metadata)["topics"] == [topic]
            assert groups["grp-idle"].state == "Empty", groups["grp-idle"].state
            (one,) = admin.list_groups(group="grp-live", timeout=15)
            assert one.id == "grp-live" and one.state == "Stable", one
        finally:
            m.close()
        b.assert_alive()


if __name__ == "__main__" and len(sys.argv) >= 3 and sys.argv[1] == "worker":
    worker_main(json.loads(sys.argv[2]))


@harness.timeout(150)
def test_static_member_restart_causes_no_rebalance():
    """Static membership (group.instance.id, KIP-345): a member that restarts within its session
    timeout gets its old partitions back and the other member sees no revoke or assign at all.
    librdkafka does not send LeaveGroup on close for a static member."""
    topic, group = "grp-static", "grp-static"
    with Broker(BASE, name="grp-static") as b:
        b.create_topic(topic, 4)
        parts = [(topic, p) for p in range(4)]
        conf_a = consumer_config(b.bootstrap, group, extra={"group.instance.id": "static-a", "session.timeout.ms": 10000})
        conf_b = consumer_config(b.bootstrap, group, extra={"group.instance.id": "static-b", "session.timeout.ms": 10000})
        a = Member("a", conf_a, [topic])
        other = Member("b", conf_b, [topic])
        restarted = None
        try:
            poll_until(b, [a, other], lambda: cover([a, other], parts, [2, 2]) and
                       stable_in_broker(b, group, [a, other]), 90, "two static members with two partitions each")
            a_owned = set(a.owned)
            events_before = len(other.log)
            a.close()
            restarted = Member("a2", conf_a, [topic])
            poll_until(b, [restarted, other], lambda: restarted.owned == a_owned, 60,
                       "the restarted static member to get its partitions back")
            # Keep polling a little so a rebalance, had one started, would reach the other member.
            end = time.monotonic() + 3
            while time.monotonic() < end:
                restarted.poll()
                other.poll()
            assert len(other.log) == events_before, "other member saw %r" % (other.log[events_before:],)
            assert stable_in_broker(b, group, [restarted, other])
        finally:
            for m in (restarted, other):
                if m is not None:
                    m.close()
        b.assert_alive()
