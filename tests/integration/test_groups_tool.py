"""tools/sluice-groups (our kafka-consumer-groups.sh) against the real broker, with confluent-kafka
consumer groups as the subject: --list, --describe (members, assignments, committed offsets, log
end offsets, lag), --reset-offsets in each scenario (dry run, --execute, refused while the group
has members), --delete and --delete-offsets.  The tool's tables are parsed by column name; every
wait is bounded and nothing depends on timing beyond those bounds."""

import calendar
import os
import time

import harness
from harness import Broker, wait_for

from confluent_kafka import Consumer, KafkaError, Producer

TOOL = os.environ.get("SLUICE_GROUPS_BIN") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(harness.SLUICE_BIN))), "tools", "sluice-groups")
BASE_TS = 1_600_000_000_000
# Short group timers so joins and leaves finish quickly (all within Kafka's allowed ranges).
# Each test starts its own broker, so topic and group names are fixed: a group always maps to the
# same __consumer_offsets partition, and a failure replays exactly.
BROKER_CONFIG = {"group.initial.rebalance.delay.ms": 0, "group.min.session.timeout.ms": 1000}


def tool(broker, *args, check=True):
    """Runs sluice-groups; returns (exit code, stdout, stderr) as text."""
    if not os.access(TOOL, os.X_OK):
        raise harness.Skip("%s not built (set SLUICE_GROUPS_BIN)" % TOOL)
    p = harness.run([TOOL, "--bootstrap-server", broker.bootstrap, "--timeout", "10000"] + list(args),
                    timeout_s=60, check=check)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def tables(text):
    """Every table in the output as a list of {column: cell} rows (tables are separated by blank
    lines and open with a header line whose first cell is GROUP or TOPIC)."""
    out = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines or lines[0].split()[0] not in ("GROUP", "TOPIC"):
            continue
        header = lines[0].replace("COORDINATOR (ID)", "COORDINATOR").split()
        rows = []
        for line in lines[1:]:
            cells = line.split()
            if header[1] == "COORDINATOR":  # "host:port (id)" is two cells
                cells = [cells[0], cells[1] + " " + cells[2]] + cells[3:]
            assert len(cells) == len(header), (header, line)
            rows.append(dict(zip(header, cells)))
        out.append((header, rows))
    return out


def table_with(text, column):
    for header, rows in tables(text):
        if column in header:
            return rows
    raise AssertionError("no table with column %s in:\n%s" % (column, text))


def describe(broker, group):
    code, out, err = tool(broker, "--describe", "--group", group)
    assert code == 0, err
    state = table_with(out, "ASSIGNMENT-STRATEGY")[0]
    members = table_with(out, "#PARTITIONS") if "has no active members" not in out else []
    offsets = {(r["TOPIC"], int(r["PARTITION"])): r for r in table_with(out, "LAG")}
    return state, members, offsets


def group_state(broker, group):
    return describe(broker, group)[0]["STATE"]


def produce(broker, topic, partitions, count, first_ts=None):
    """`count` records into each partition; timestamps first_ts + 1000 * n when given."""
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 5,
                         "message.timeout.ms": 30000})
    errors = []
    for n in range(count):
        for p in range(partitions):
            kwargs = {"timestamp": first_ts + 1000 * n} if first_ts is not None else {}
            producer.produce(topic, value=b"v%d" % n, partition=p,
                             on_delivery=lambda err, msg: errors.append(err) if err else None, **kwargs)
    assert producer.flush(60) == 0, "not all records delivered within 60s"
    assert not errors, errors[:3]


def new_consumer(broker, group, reset="earliest", client_id="groups-it"):
    return Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                     "client.id": client_id, "enable.auto.commit": False,
                     "auto.offset.reset": reset, "session.timeout.ms": 6000,
                     "heartbeat.interval.ms": 500, "enable.partition.eof": False,
                     "socket.timeout.ms": 10000, "fetch.wait.max.ms": 100})


def consume(consumer, count, timeout_s=60):
    """Polls until `count` messages arrived; returns them."""
    got = []
    deadline = time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        for msg in consumer.consume(count - len(got), timeout=0.5):
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError("consumer error: %s" % msg.error())
            got.append(msg)
    assert len(got) == count, "got %d of %d messages within %ds" % (len(got), count, timeout_s)
    return got


def consume_and_commit(broker, group, topic, count):
    """A subscribed consumer that read `count` messages and committed them; still open."""
    consumer = new_consumer(broker, group)
    consumer.subscribe([topic])
    consume(consumer, count)
    consumer.commit(asynchronous=False)
    return consumer


def close_and_wait_empty(broker, consumer, group):
    consumer.close()
    wait_for(lambda: group_state(broker, group) == "Empty", 30, 0.2, "group %s Empty" % group)


def committed(broker, group):
    return {tp: r["CURRENT-OFFSET"] for tp, r in describe(broker, group)[2].items()}


def test_list_and_describe_show_members_offsets_and_lag():
    """One consumer reads 10 records from each of two partitions and commits; 5 more are produced
    after the commit.  --list shows the group, --describe its member, assignment, committed
    offsets, log end offsets and a lag of 5, each partition owned by the member."""
    with Broker(BROKER_CONFIG, name="groups-describe") as b:
        topic, group = "gt-describe", "g-describe"
        b.create_topic(topic, 2)
        produce(b, topic, 2, 10)
        consumer = consume_and_commit(b, group, topic, 20)
        try:
            produce(b, topic, 2, 5)
            wait_for(lambda: group_state(b, group) == "Stable", 30, 0.2, "group Stable")
            code, out, err = tool(b, "--list")
            listed = {r["GROUP"]: r for r in table_with(out, "PROTOCOL-TYPE")}
            assert group in listed, out
            assert listed[group]["PROTOCOL-TYPE"] == "consumer", listed[group]
            assert listed[group]["STATE"] == "Stable", listed[group]

            state, members, offsets = describe(b, group)
            assert state["#MEMBERS"] == "1" and state["PROTOCOL-TYPE"] == "consumer", state
            assert state["ASSIGNMENT-STRATEGY"] in ("range", "roundrobin", "cooperative-sticky"), state
            assert state["COORDINATOR"].startswith(b.bootstrap), state
            (member,) = members
            assert member["CLIENT-ID"] == "groups-it", member
            assert member["HOST"].endswith("127.0.0.1"), member
            assert member["#PARTITIONS"] == "2", member
            assert member["ASSIGNMENT"] == "%s(0,1)" % topic, member
            assert sorted(offsets) == [(topic, 0), (topic, 1)], offsets
            for row in offsets.values():
                assert (row["CURRENT-OFFSET"], row["LOG-END-OFFSET"], row["LAG"]) == ("10", "15", "5"), row
                assert row["CONSUMER-ID"] == member["CONSUMER-ID"], row
                assert row["CLIENT-ID"] == "groups-it" and row["HOST"] == member["HOST"], row
        finally:
            consumer.close()
        wait_for(lambda: group_state(b, group) == "Empty", 30, 0.2, "group Empty")
        _, out, _ = tool(b, "--describe", "--group", group)
        assert "has no active members" in out, out
        offsets = table_with(out, "LAG")
        assert all(r["CONSUMER-ID"] == "-" and r["LAG"] == "5" for r in offsets), out
        # --describe --all-groups covers it too; an unknown group is GROUP_ID_NOT_FOUND.
        code, out, err = tool(b, "--describe", "--all-groups", "--state")
        assert group in out and code == 0, (out, err)
        code, out, err = tool(b, "--describe", "--group", "no-such-group", check=False)
        assert code == 1 and "GROUP_ID_NOT_FOUND" in err, (code, out, err)


def test_describe_two_members_cooperative_sticky():
    """Two cooperative-sticky consumers (librdkafka sends a newer ConsumerProtocolAssignment
    version) share a 4-partition topic: --describe decodes each member's assignment, the two are
    disjoint and cover the topic, and each partition row names the member that owns it."""
    with Broker(BROKER_CONFIG, name="groups-two") as b:
        topic, group = "gt-two", "g-two"
        b.create_topic(topic, 4)
        produce(b, topic, 4, 2)
        consumers = []
        for i in range(2):
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group,
                          "client.id": "member-%d" % i, "enable.auto.commit": False,
                          "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                          "heartbeat.interval.ms": 500,
                          "partition.assignment.strategy": "cooperative-sticky"})
            c.subscribe([topic])
            consumers.append(c)
        try:
            def balanced():
                for c in consumers:
                    c.consume(100, timeout=0.1)
                state, members, offsets = describe(b, group)
                if state["STATE"] != "Stable" or len(members) != 2:
                    return None
                if sorted(m["#PARTITIONS"] for m in members) != ["2", "2"]:
                    return None
                return members, offsets
            members, offsets = wait_for(balanced, 60, 0.2, "two members with two partitions each")
            owned = {}
            for m in members:
                assert m["ASSIGNMENT"].startswith(topic + "("), m
                for p in m["ASSIGNMENT"][len(topic) + 1:-1].split(","):
                    assert (topic, int(p)) not in owned, members
                    owned[(topic, int(p))] = m
            assert sorted(owned) == [(topic, p) for p in range(4)], members
            for tp, m in owned.items():
                row = offsets[tp]
                assert row["CONSUMER-ID"] == m["CONSUMER-ID"] and row["CLIENT-ID"] == m["CLIENT-ID"], (row, m)
                assert row["CURRENT-OFFSET"] == "-" and row["LOG-END-OFFSET"] == "2", row
        finally:
            for c in consumers:
                c.close()


def test_reset_to_earliest_refused_while_active_then_executed():
    """A reset is refused (exit 1) while the group has a member.  After the consumer leaves, a dry
    run prints the plan and changes nothing, --execute commits it, and a new consumer of the group
    (auto.offset.reset=latest, so only the committed offsets can send it to 0) starts at 0."""
    with Broker(BROKER_CONFIG, name="groups-reset") as b:
        topic, group = "gt-reset", "g-reset"
        b.create_topic(topic, 2)
        produce(b, topic, 2, 10)
        consumer = consume_and_commit(b, group, topic, 20)
        try:
            wait_for(lambda: group_state(b, group) == "Stable", 30, 0.2, "group Stable")
            code, out, err = tool(b, "--reset-offsets", "--group", group, "--topic", topic,
                                  "--to-earliest", "--execute", check=False)
            assert code == 1, (code, out, err)
            assert "inactive" in err and "Stable" in err, err
        finally:
            close_and_wait_empty(b, consumer, group)
        assert committed(b, group) == {(topic, 0): "10", (topic, 1): "10"}

        code, out, err = tool(b, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest")
        plan = {(r["TOPIC"], int(r["PARTITION"])): r["NEW-OFFSET"] for r in table_with(out, "NEW-OFFSET")}
        assert plan == {(topic, 0): "0", (topic, 1): "0"}, out
        assert "--execute" in err, err
        assert committed(b, group) == {(topic, 0): "10", (topic, 1): "10"}, "dry run committed"

        tool(b, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute")
        assert committed(b, group) == {(topic, 0): "0", (topic, 1): "0"}

        again = new_consumer(b, group, reset="latest")
        try:
            again.subscribe([topic])
            msgs = consume(again, 20)
            firsts = {}
            for m in msgs:
                firsts.setdefault(m.partition(), m.offset())
            assert firsts == {0: 0, 1: 0}, firsts
        finally:
            again.close()


def test_reset_scenarios_offset_shift_timestamp_datetime():
    """Each scenario on a group that has never had members (a Dead/unknown group may be reset, as
    in Kafka): --to-offset (and its clamp to the log end), --shift-by (and its clamp to the log
    start), --to-timestamp and --to-datetime (the first offset at or after the time; the log end
    when no record is that late), --to-latest, and a T:P spec that touches one partition only."""
    with Broker(BROKER_CONFIG, name="groups-scenarios") as b:
        topic, group = "gt-scen", "g-scen"
        b.create_topic(topic, 2)
        produce(b, topic, 2, 10, first_ts=BASE_TS)

        def reset(*scenario):
            tool(b, "--reset-offsets", "--group", group, "--topic", topic, *scenario, "--execute")
            return committed(b, group)

        assert reset("--to-offset", "3") == {(topic, 0): "3", (topic, 1): "3"}
        code, out, err = tool(b, "--reset-offsets", "--group", group, "--topic", topic,
                              "--to-offset", "1000", "--execute")
        assert "higher than latest" in err, err
        assert committed(b, group) == {(topic, 0): "10", (topic, 1): "10"}
        assert reset("--shift-by", "-4") == {(topic, 0): "6", (topic, 1): "6"}
        assert reset("--shift-by", "-100") == {(topic, 0): "0", (topic, 1): "0"}
        assert reset("--to-timestamp", str(BASE_TS + 5000)) == {(topic, 0): "5", (topic, 1): "5"}
        assert reset("--to-timestamp", str(BASE_TS + 2500)) == {(topic, 0): "3", (topic, 1): "3"}
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((BASE_TS + 7000) // 1000)) + ".000"
        assert calendar.timegm(time.strptime(when[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 == BASE_TS + 7000
        assert reset("--to-datetime", when) == {(topic, 0): "7", (topic, 1): "7"}
        assert reset("--to-timestamp", str(BASE_TS + 10 ** 9)) == {(topic, 0): "10", (topic, 1): "10"}
        assert reset("--to-earliest") == {(topic, 0): "0", (topic, 1): "0"}
        tool(b, "--reset-offsets", "--group", group, "--topic", "%s:1" % topic, "--to-latest", "--execute")
        assert committed(b, group) == {(topic, 0): "0", (topic, 1): "10"}
        # --all-topics resets every partition of the topics the group has committed.
        tool(b, "--reset-offsets", "--group", group, "--all-topics", "--to-offset", "2", "--execute")
        assert committed(b, group) == {(topic, 0): "2", (topic, 1): "2"}
        # An unknown topic is Kafka's UNKNOWN_TOPIC_OR_PARTITION, exit 1.
        code, out, err = tool(b, "--reset-offsets", "--group", group, "--topic", "no-such-topic",
                              "--to-earliest", "--execute", check=False)
        assert code == 1 and "UNKNOWN_TOPIC_OR_PARTITION" in err, (code, out, err)


def test_delete_offsets_and_delete_group():
    """--delete is refused with NON_EMPTY_GROUP while a member is in the group; --delete-offsets
    removes one topic's committed offsets from an Empty group and keeps the other's; --delete then
    removes the group, which --list no longer shows and --describe reports as GROUP_ID_NOT_FOUND."""
    with Broker(BROKER_CONFIG, name="groups-delete") as b:
        topic, other, group = "gt-del", "gt-keep", "g-del"
        b.create_topic(topic, 1)
        b.create_topic(other, 1)
        produce(b, topic, 1, 4)
        produce(b, other, 1, 3)
        consumer = new_consumer(b, group)
        try:
            consumer.subscribe([topic, other])
            consume(consumer, 7)
            consumer.commit(asynchronous=False)
            wait_for(lambda: group_state(b, group) == "Stable", 30, 0.2, "group Stable")
            code, out, err = tool(b, "--delete", "--group", group, check=False)
            assert code == 1 and "NON_EMPTY_GROUP" in err, (code, out, err)
        finally:
            close_and_wait_empty(b, consumer, group)
        assert committed(b, group) == {(topic, 0): "4", (other, 0): "3"}

        code, out, err = tool(b, "--delete-offsets", "--group", group, "--topic", topic)
        rows = table_with(out, "STATUS")
        assert [(r["TOPIC"], r["PARTITION"], r["STATUS"]) for r in rows] == [(topic, "0", "Successful")], out
        assert committed(b, group) == {(other, 0): "3"}

        code, out, err = tool(b, "--delete", "--group", group)
        assert "was successful" in out, out
        code, out, err = tool(b, "--list")
        assert group not in [r["GROUP"] for r in table_with(out, "PROTOCOL-TYPE")], out
        code, out, err = tool(b, "--describe", "--group", group, check=False)
        assert code == 1 and "GROUP_ID_NOT_FOUND" in err, (code, out, err)
        code, out, err = tool(b, "--delete", "--group", group, check=False)
        assert code == 1 and "GROUP_ID_NOT_FOUND" in err, (code, out, err)


def test_errors_exit_nonzero():
    """Usage errors exit 2; an unreachable broker exits 1 within the timeout."""
    with Broker(BROKER_CONFIG, name="groups-errors") as b:
        code, out, err = tool(b, "--reset-offsets", "--group", "g", "--topic", "t", check=False)
        assert code == 2 and "scenario" in err, (code, err)
        port = harness.free_port()
        p = harness.run([TOOL, "--bootstrap-server", "127.0.0.1:%d" % port, "--list", "--timeout", "2000"],
                        timeout_s=30, check=False)
        assert p.returncode == 1 and b"cannot connect" in p.stderr, (p.returncode, p.stderr)
