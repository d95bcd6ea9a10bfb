"""The Prometheus endpoint (metrics.listener) of the real broker.

Produces N records of a known size with confluent-kafka, consumes them with a group that commits
a known offset, scrapes /metrics and checks that the counters match what was sent (Produce and
Fetch requests, bytes and records in, bytes out, log end offset, committed offset and lag, open
connections while a client is connected), that `promtool check metrics` accepts the scrape, that
other paths get 404, that a broker with metrics.listener=none runs without the endpoint, and that
an explicitly configured address that is taken stops the broker at start-up."""

import re
import shutil
import socket
import subprocess
import urllib.error
import urllib.request

import harness
from harness import Broker

from confluent_kafka import Consumer, Producer, TopicPartition

RECORDS = 400
VALUE_BYTES = 200
COMMITTED = 150

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.read().decode()


def parse(text):
    """{(name, frozenset(labels)): value} of every sample."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "unparsable sample line %r" % line
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def value(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in samples, "no sample %s%s" % (name, labels)
    return samples[key]


def promtool_check(text):
    promtool = shutil.which("promtool")
    if promtool is None:
        raise harness.Skip("promtool not installed (Debian package prometheus)")
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, "promtool check metrics failed:\n%s%s" % (p.stdout.decode(), p.stderr.decode())


def produce(bootstrap, topic):
    delivered = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                         "compression.type": "none", "message.timeout.ms": 30000})
    for i in range(RECORDS):
        value_bytes = (b"%08d" % i) * (VALUE_BYTES // 8)
        producer.produce(topic, value=value_bytes, partition=0,
                         on_delivery=lambda err, msg: delivered.append(err))
        producer.poll(0)
    assert producer.flush(60) == 0, "records not delivered within 60s"
    assert len(delivered) == RECORDS and all(e is None for e in delivered), delivered[:5]


def consume_all(bootstrap, topic, group):
    """Reads every record, commits offset COMMITTED; returns the open consumer."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = 0
    for _ in range(300):
        if got >= RECORDS:
            break
        for msg in consumer.consume(num_messages=500, timeout=0.2):
            assert msg.error() is None, msg.error()
            assert len(msg.value()) == VALUE_BYTES
            got += 1
    assert got == RECORDS, "consumed %d of %d" % (got, RECORDS)
    consumer.commit(offsets=[TopicPartition(topic, 0, COMMITTED)], asynchronous=False)
    return consumer


@harness.timeout(180)
def test_counters_match_produce_and_consume():
    metrics_port = harness.free_port()
    with Broker({"metrics.listener": "127.0.0.1:%d" % metrics_port}, name="metrics") as b:
        topic = harness.unique("metrics")
        b.create_topic(topic, partitions=1)
        before = parse(scrape(metrics_port))
        assert value(before, "sluice_topic_bytes_in_total", topic=topic) == 0
        produce(b.bootstrap, topic)
        consumer = consume_all(b.bootstrap, topic, "metrics-group")
        try:
            text = scrape(metrics_port)
            s = parse(text)
            assert value(s, "sluice_requests_total", api="Produce") >= 1
            assert value(s, "sluice_requests_total", api="Fetch") >= 1
            # Every produce (acks=all) was answered, so each one's latency was observed.
            assert (value(s, "sluice_request_duration_seconds_count", api="Produce")
                    == value(s, "sluice_requests_total", api="Produce"))
            assert value(s, "sluice_request_duration_seconds_bucket", api="Fetch", le="+Inf") >= 1
            assert value(s, "sluice_topic_records_in_total", topic=topic) == RECORDS
            assert value(s, "sluice_topic_bytes_in_total", topic=topic) >= RECORDS * VALUE_BYTES
            assert value(s, "sluice_topic_bytes_out_total", topic=topic) >= RECORDS * VALUE_BYTES
            assert value(s, "sluice_partition_log_end_offset", topic=topic, partition="0") == RECORDS
            assert value(s, "sluice_partition_high_watermark", topic=topic, partition="0") == RECORDS
            assert value(s, "sluice_partition_log_start_offset", topic=topic, partition="0") == 0
            assert value(s, "sluice_partition_size_bytes", topic=topic, partition="0") >= RECORDS * VALUE_BYTES
            assert value(s, "sluice_consumer_group_committed_offset", group="metrics-group", topic=topic,
                         partition="0") == COMMITTED
            assert value(s, "sluice_consumer_group_lag", group="metrics-group", topic=topic,
                         partition="0") == RECORDS - COMMITTED
            assert value(s, "sluice_connections") >= 1  # the consumer is connected
            assert value(s, "sluice_connections_accepted_total") >= 2
            # Durable mode (the default) syncs before answering acks=all.
            assert value(s, "sluice_fsync_duration_seconds_count") >= 1
            assert value(s, "sluice_flush_duration_seconds_count") >= 1
            assert value(s, "sluice_inflight_request_bytes_max") > 0
            assert value(s, "sluice_event_loop_inflight_operations", loop="network-0") >= 1
            assert value(s, "sluice_scrape_gather_timeouts_total") == 0
            promtool_check(text)
        finally:
            consumer.close()
        # Every client is gone: the gauge comes back to zero (bounded wait; librdkafka closes
        # its sockets on close, the harness's after each call).
        harness.wait_until(b, lambda: value(parse(scrape(metrics_port)), "sluice_connections") == 0,
                           30, what="sluice_connections back to 0")
        try:
            scrape(metrics_port, "/nope")
            raise AssertionError("/nope answered 200")
        except urllib.error.HTTPError as e:
            assert e.code == 404, e.code


def test_errors_are_counted_by_code():
    """Produces to an unknown topic (UNKNOWN_TOPIC_OR_PARTITION, 3) and a batch with a bad CRC
    (CORRUPT_MESSAGE, 2), fetches an unknown partition (3), and checks each counter moved by
    exactly the number sent."""
    import kproto
    metrics_port = harness.free_port()
    with Broker({"metrics.listener": "127.0.0.1:%d" % metrics_port, "auto.create.topics.enable": "false"},
                name="metrics-errors") as b:
        topic = harness.unique("metrics-err")
        b.create_topic(topic, partitions=1)
        good = kproto.build_batch([kproto.Record(b"v")])
        bad = kproto.build_batch([kproto.Record(b"v")], corrupt_crc=True)
        with b.client() as c:
            for _ in range(3):
                assert c.produce_one("no-such-topic", 0, good)["error_code"] == 3
            for _ in range(2):
                assert c.produce_one(topic, 0, bad)["error_code"] == 2
            assert c.produce_one(topic, 0, good)["error_code"] == 0
            for _ in range(4):
                assert c.fetch_partition(topic, 7, 0)["error_code"] == 3
        s = parse(scrape(metrics_port))
        assert value(s, "sluice_produce_errors_total", code="3", error="UNKNOWN_TOPIC_OR_PARTITION") == 3
        assert value(s, "sluice_produce_errors_total", code="2", error="CORRUPT_MESSAGE") == 2
        assert value(s, "sluice_fetch_errors_total", code="3", error="UNKNOWN_TOPIC_OR_PARTITION") == 4
        assert value(s, "sluice_topic_records_in_total", topic=topic) == 1
        assert value(s, "sluice_partition_log_end_offset", topic=topic, partition="0") == 1


def test_disabled_broker_runs_without_the_port_and_taken_port_stops_start():
    metrics_port = harness.free_port()
    with Broker({"metrics.listener": "127.0.0.1:%d" % metrics_port}, name="metrics-a") as a:
        assert "event=metrics_listening" in a.stderr_text()
        with Broker({"metrics.listener": "none"}, name="metrics-off") as off:
            off.assert_alive()
            assert "metrics_listening" not in off.stderr_text()
            assert "metrics_disabled" not in off.stderr_text()
        # Asked for explicitly, a taken address is a start-up error, not a silent loss of metrics.
        taken = Broker({"metrics.listener": "127.0.0.1:%d" % metrics_port}, name="metrics-taken")
        try:
            try:
                taken.start()
                raise AssertionError("broker started although its metrics.listener was taken")
            except harness.BrokerError:
                pass
            assert "metrics.listener" in taken.stderr_text()
        finally:
            taken.close()
        a.assert_alive()
        # The first broker still serves its own scrape.
        assert "sluice_requests_total" in scrape(metrics_port)


def test_bad_request_paths_and_methods():
    metrics_port = harness.free_port()
    with Broker({"metrics.listener": "127.0.0.1:%d" % metrics_port}, name="metrics-http"):
        for path in ["/", "/metric", "/metrics/x"]:
            try:
                scrape(metrics_port, path)
                raise AssertionError("%s answered 200" % path)
            except urllib.error.HTTPError as e:
                assert e.code == 404, (path, e.code)
        with socket.create_connection(("127.0.0.1", metrics_port), timeout=10) as sock:
            sock.sendall(b"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 405"), reply[:100]
