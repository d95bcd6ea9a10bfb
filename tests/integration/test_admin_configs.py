"""The config and partition admin APIs with the clients' own admin tools, and with our protocol
codec where no client here speaks the API (IncrementalAlterConfigs, DeleteRecords,
DescribeLogDirs): DescribeConfigs with sources and synonyms, AlterConfigs, IncrementalAlterConfigs
(topic, broker defaults at run time, the BROKER_LOGGER level), CreatePartitions, DeleteRecords,
DescribeLogDirs; configs survive a restart; invalid ones get INVALID_CONFIG naming the key."""

import os

import harness
import kproto
from harness import Broker

import confluent_kafka
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
DYNAMIC_TOPIC, DYNAMIC_BROKER, DYNAMIC_DEFAULT, STATIC, DEFAULT = 1, 2, 3, 4, 5


def describe(client, rtype, name, keys=None, version=4, synonyms=True):
    out = client.call(kproto.DESCRIBE_CONFIGS, version, {
        "resources": [{"resource_type": rtype, "resource_name": name, "configuration_keys": keys}],
        "include_synonyms": synonyms, "include_documentation": True})
    result = out["results"][0]
    return result, {c["name"]: c for c in result["configs"]}


def incremental(client, rtype, name, ops, validate_only=False, version=1):
    out = client.call(kproto.INCREMENTAL_ALTER_CONFIGS, version, {
        "resources": [{"resource_type": rtype, "resource_name": name,
                       "configs": [{"name": k, "config_operation": op, "value": v} for k, op, v in ops]}],
        "validate_only": validate_only})
    return out["responses"][0]


def produce(bootstrap, topic, count, partition=0, size=100):
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 4096})
    for i in range(count):
        producer.produce(topic, value=b"%06d" % i + b"x" * (size - 6), partition=partition)
    assert producer.flush(30) == 0


@harness.timeout(90)
def test_describe_and_alter_topic_configs_with_confluent_admin():
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        topic = harness.unique("cfg")
        admin.create_topics([NewTopic(topic, 1, 1, config={"retention.ms": "3600000",
                                                           "cleanup.policy": "compact"})])[topic].result(30)
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
        configs = admin.describe_configs([resource])[resource].result(30)
        assert configs["retention.ms"].value == "3600000"
        assert configs["retention.ms"].source == confluent_kafka.admin.ConfigSource.DYNAMIC_TOPIC_CONFIG.value
        assert configs["cleanup.policy"].value == "compact"
        assert configs["segment.bytes"].value == "1073741824"
        assert configs["segment.bytes"].source == confluent_kafka.admin.ConfigSource.DEFAULT_CONFIG.value
        assert configs["segment.bytes"].is_default
        for key in ("min.cleanable.dirty.ratio", "delete.retention.ms", "max.message.bytes", "flush.mode"):
            assert key in configs, key
        # AlterConfigs replaces the whole set: retention.ms goes back to its default.
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"segment.bytes": "1048576"})
        admin.alter_configs([resource])[resource].result(30)
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
        configs = admin.describe_configs([resource])[resource].result(30)
        assert configs["segment.bytes"].value == "1048576"
        assert configs["retention.ms"].value == "604800000"
        assert configs["cleanup.policy"].value == "delete"
        # An invalid value names the key.
        bad = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"retention.ms": "soon"})
        try:
            admin.alter_configs([bad])[bad].result(30)
            raise AssertionError("an invalid retention.ms was accepted")
        except confluent_kafka.KafkaException as e:
            assert e.args[0].code() == confluent_kafka.KafkaError.INVALID_CONFIG, e
            assert "retention.ms" in e.args[0].str(), e
        # Unknown topic.
        missing = ConfigResource(ConfigResource.Type.TOPIC, harness.unique("missing"))
        try:
            admin.describe_configs([missing])[missing].result(30)
            raise AssertionError("described a missing topic")
        except confluent_kafka.KafkaException as e:
            assert e.args[0].code() == confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART, e
        # The configs survive a restart.
        assert b.stop() == 0
        b.start()
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        configs = admin.describe_configs([resource])[resource].result(30)
        assert configs["segment.bytes"].value == "1048576"


@harness.timeout(90)
def test_segment_bytes_change_takes_effect_without_restart():
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        topic = harness.unique("roll")
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        produce(b.bootstrap, topic, 50)
        segments = lambda: sorted(n for n in os.listdir(b.partition_dir(topic, 0)) if n.endswith(".log"))
        assert len(segments()) == 1
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"segment.bytes": "16384"})
        admin.alter_configs([resource])[resource].result(30)
        # The active segment keeps its own limit (1 GiB); the next roll happens at the old size,
        # so force one with segment.ms instead, then check the new size applies to what follows.
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic,
                                  set_config={"segment.bytes": "16384", "segment.ms": "1"})
        admin.alter_configs([resource])[resource].result(30)
        produce(b.bootstrap, topic, 400, size=200)
        assert len(segments()) >= 4, segments()


@harness.timeout(90)
def test_kafka_python_admin_configs_and_partitions():
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource as KConfigResource, ConfigResourceType, NewPartitions as KNewPartitions
    from kafka.admin import NewTopic as KNewTopic
    with Broker() as b:
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=20000)
        try:
            topic = harness.unique("kpcfg")
            admin.create_topics([KNewTopic(topic, 1, 1, topic_configs={"retention.bytes": "1048576"})])
            result = admin.describe_configs([KConfigResource(ConfigResourceType.TOPIC, topic)])
            entries = {e[0]: e[1] for e in result[0].resources[0][4]}
            assert entries["retention.bytes"] == "1048576", entries
            admin.alter_configs([KConfigResource(ConfigResourceType.TOPIC, topic,
                                                 configs={"retention.bytes": "2097152"})])
            result = admin.describe_configs([KConfigResource(ConfigResourceType.TOPIC, topic)])
            entries = {e[0]: e[1] for e in result[0].resources[0][4]}
            assert entries["retention.bytes"] == "2097152", entries
            admin.create_partitions({topic: KNewPartitions(3)})
            b.wait_topic(topic, 3)
            result = admin.describe_configs([KConfigResource(ConfigResourceType.BROKER, "1")])
            entries = {e[0]: e[1] for e in result[0].resources[0][4]}
            assert entries["log.retention.ms"] == "604800000", entries
            assert entries["num.io.threads"] is not None
        finally:
            admin.close()


@harness.timeout(90)
def test_create_partitions_with_confluent_admin():
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        topic = harness.unique("grow")
        admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
        admin.create_partitions([NewPartitions(topic, 5)])[topic].result(30)
        assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 5
        produce(b.bootstrap, topic, 20, partition=4)
        consumer = confluent_kafka.Consumer({"bootstrap.servers": b.bootstrap, "group.id": harness.unique("g")})
        try:
            low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 4), timeout=10)
        finally:
            consumer.close()
        assert (low, high) == (0, 20)
        # Shrinking is refused.
        try:
            admin.create_partitions([NewPartitions(topic, 3)])[topic].result(30)
            raise AssertionError("partitions were removed")
        except confluent_kafka.KafkaException as e:
            assert e.args[0].code() == confluent_kafka.KafkaError.INVALID_PARTITIONS, e
        # validate_only changes nothing.
        admin.create_partitions([NewPartitions(topic, 8)], validate_only=True)[topic].result(30)
        assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 5
        # After a restart all five are there.
        assert b.stop() == 0
        b.start()
        b.wait_topic(topic, 5)


@harness.timeout(90)
def test_incremental_alter_configs_with_our_codec():
    with Broker() as b:
        topic = harness.unique("inc")
        b.create_topic(topic, 1, configs={"retention.ms": "100000"})
        with b.client() as c:
            # SET and APPEND in one request, DELETE of a key puts back the default.
            r = incremental(c, TOPIC, topic, [("segment.ms", SET, "60000"), ("cleanup.policy", APPEND, "compact"),
                                               ("retention.ms", DELETE, None)])
            assert r["error_code"] == 0, r
            _, configs = describe(c, TOPIC, topic)
            assert configs["segment.ms"]["value"] == "60000"
            assert configs["segment.ms"]["config_source"] == DYNAMIC_TOPIC
            assert configs["cleanup.policy"]["value"] == "delete,compact"
            assert configs["retention.ms"]["value"] == "604800000"
            assert configs["retention.ms"]["config_source"] == DEFAULT
            assert configs["retention.ms"]["config_type"] == 5  # LONG
            assert configs["retention.ms"]["documentation"]
            r = incremental(c, TOPIC, topic, [("cleanup.policy", SUBTRACT, "delete")])
            assert r["error_code"] == 0, r
            _, configs = describe(c, TOPIC, topic, ["cleanup.policy"])
            assert list(configs) == ["cleanup.policy"] and configs["cleanup.policy"]["value"] == "compact"
            # Errors: APPEND to a non-list, a bad value, an unknown key, validate_only.
            r = incremental(c, TOPIC, topic, [("retention.ms", APPEND, "5")])
            assert r["error_code"] == kproto.INVALID_CONFIG and "retention.ms" in r["error_message"], r
            r = incremental(c, TOPIC, topic, [("min.cleanable.dirty.ratio", SET, "1.5")])
            assert r["error_code"] == kproto.INVALID_CONFIG and "min.cleanable.dirty.ratio" in r["error_message"], r
            r = incremental(c, TOPIC, topic, [("no.such.key", SET, "1")])
            assert r["error_code"] == kproto.INVALID_CONFIG and "no.such.key" in r["error_message"], r
            r = incremental(c, TOPIC, topic, [("segment.ms", SET, "70000")], validate_only=True)
            assert r["error_code"] == 0, r
            _, configs = describe(c, TOPIC, topic, ["segment.ms"])
            assert configs["segment.ms"]["value"] == "60000"
            # v0 (not flexible) works the same.
            r = incremental(c, TOPIC, topic, [("segment.ms", SET, "80000")], version=0)
            assert r["error_code"] == 0, r
            _, configs = describe(c, TOPIC, topic, ["segment.ms"], version=0, synonyms=False)
            assert configs["segment.ms"]["value"] == "80000"


@harness.timeout(90)
def test_broker_configs_change_at_run_time_and_persist():
    with Broker(overrides={"log.retention.hours": "100"}) as b:
        topic = harness.unique("dyn")
        own = harness.unique("own")
        b.create_topic(topic, 1)
        b.create_topic(own, 1, configs={"retention.ms": "5000"})
        with b.client() as c:
            _, configs = describe(c, TOPIC, topic, ["retention.ms"])
            assert configs["retention.ms"]["value"] == "360000000"
            assert configs["retention.ms"]["config_source"] == STATIC
            _, broker = describe(c, BROKER, "1")
            assert broker["log.retention.hours"]["value"] == "100"
            assert broker["log.retention.hours"]["config_source"] == STATIC
            assert broker["num.io.threads"]["read_only"]
            # A read-only broker key is refused, naming it.
            r = incremental(c, BROKER, "1", [("num.io.threads", SET, "4")])
            assert r["error_code"] == kproto.INVALID_CONFIG and "num.io.threads" in r["error_message"], r
            # A dynamic one takes effect for topics without their own value.
            r = incremental(c, BROKER, "1", [("log.retention.ms", SET, "7200000")])
            assert r["error_code"] == 0, r
            _, configs = describe(c, TOPIC, topic, ["retention.ms"])
            assert configs["retention.ms"]["value"] == "7200000"
            assert configs["retention.ms"]["config_source"] == DYNAMIC_BROKER
            names = [(s["name"], s["source"]) for s in configs["retention.ms"]["synonyms"]]
            assert names[:2] == [("log.retention.ms", DYNAMIC_BROKER), ("log.retention.hours", STATIC)], names
            _, configs = describe(c, TOPIC, own, ["retention.ms"])
            assert configs["retention.ms"]["value"] == "5000"
            # The cluster-wide default (resource name "") sits under the per-broker value.
            r = incremental(c, BROKER, "", [("log.segment.bytes", SET, "2097152")])
            assert r["error_code"] == 0, r
            result, defaults = describe(c, BROKER, "")
            assert result["error_code"] == 0 and defaults["log.segment.bytes"]["value"] == "2097152"
            _, configs = describe(c, TOPIC, topic, ["segment.bytes"])
            assert configs["segment.bytes"]["config_source"] == DYNAMIC_DEFAULT
            r = incremental(c, BROKER, "7", [("log.segment.bytes", SET, "2097152")])
            assert r["error_code"] == kproto.INVALID_REQUEST, r
        assert b.stop() == 0
        b.start()
        with b.client() as c:
            _, configs = describe(c, TOPIC, topic, ["retention.ms", "segment.bytes"])
            assert configs["retention.ms"]["value"] == "7200000"
            assert configs["segment.bytes"]["value"] == "2097152"
            r = incremental(c, BROKER, "1", [("log.retention.ms", DELETE, None)])
            assert r["error_code"] == 0, r
            _, configs = describe(c, TOPIC, topic, ["retention.ms"])
            assert configs["retention.ms"]["value"] == "360000000"


@harness.timeout(60)
def test_broker_logger_level_at_run_time():
    with Broker() as b:
        with b.client() as c:
            result, loggers = describe(c, BROKER_LOGGER, "1")
            assert result["error_code"] == 0 and loggers["root"]["value"] == "INFO", loggers
            r = incremental(c, BROKER_LOGGER, "1", [("root", SET, "DEBUG")])
            assert r["error_code"] == 0, r
            _, loggers = describe(c, BROKER_LOGGER, "1")
            assert loggers["root"]["value"] == "DEBUG"
            # A connection now logs its close at debug level.
            with b.client() as other:
                other.api_versions(0)
            harness.wait_for(lambda: "level=debug" in b.stderr_text(), 10, what="a debug line")
            r = incremental(c, BROKER_LOGGER, "1", [("root", SET, "LOUD")])
            assert r["error_code"] == kproto.INVALID_CONFIG, r
            r = incremental(c, BROKER_LOGGER, "1", [("root", DELETE, None)])
            assert r["error_code"] == 0, r
            _, loggers = describe(c, BROKER_LOGGER, "1")
            assert loggers["root"]["value"] == "INFO"
        assert "event=log_level_changed logger=root level=info" in b.stderr_text()


@harness.timeout(90)
def test_delete_records_moves_the_log_start():
    with Broker() as b:
        topic = harness.unique("dr")
        b.create_topic(topic, 1, configs={"segment.bytes": "16384"})
        produce(b.bootstrap, topic, 1000, size=200)
        part = b.partition_dir(topic, 0)
        before = sorted(n for n in os.listdir(part) if n.endswith(".log"))
        assert len(before) > 5
        with b.client() as c:
            out = c.call(kproto.DELETE_RECORDS, 2, {"topics": [{"name": topic, "partitions": [
                {"partition_index": 0, "offset": 600}, {"partition_index": 3, "offset": 1}]}]})
            parts = {p["partition_index"]: p for p in out["topics"][0]["partitions"]}
            assert parts[0]["error_code"] == 0 and parts[0]["low_watermark"] == 600, parts
            assert parts[3]["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, parts
            # Past the high watermark: out of range; below the start: no change.
            out = c.call(kproto.DELETE_RECORDS, 0, {"topics": [{"name": topic, "partitions": [
                {"partition_index": 0, "offset": 5000}]}]})
            assert out["topics"][0]["partitions"][0]["error_code"] == kproto.OFFSET_OUT_OF_RANGE, out
            out = c.call(kproto.DELETE_RECORDS, 1, {"topics": [{"name": topic, "partitions": [
                {"partition_index": 0, "offset": 10}]}]})
            assert out["topics"][0]["partitions"][0]["low_watermark"] == 600, out
        after = sorted(n for n in os.listdir(part) if n.endswith(".log"))
        assert len(after) < len(before) and int(after[0][:-4]) <= 600, (before, after)
        consumer = confluent_kafka.Consumer({"bootstrap.servers": b.bootstrap, "group.id": harness.unique("g"),
                                             "auto.offset.reset": "earliest"})
        try:
            low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0), timeout=10)
            assert (low, high) == (600, 1000), (low, high)
            consumer.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
            first = None
            for _ in range(100):
                m = consumer.poll(0.5)
                if m is not None and m.error() is None:
                    first = m.offset()
                    break
            assert first == 600, first
        finally:
            consumer.close()
        # The new start survives a clean restart; -1 deletes up to the high watermark.
        assert b.stop() == 0
        b.start()
        with b.client() as c:
            out = c.call(kproto.DELETE_RECORDS, 2, {"topics": [{"name": topic, "partitions": [
                {"partition_index": 0, "offset": 599}]}]})
            assert out["topics"][0]["partitions"][0]["low_watermark"] == 600, out
            out = c.call(kproto.DELETE_RECORDS, 2, {"topics": [{"name": topic, "partitions": [
                {"partition_index": 0, "offset": -1}]}]})
            assert out["topics"][0]["partitions"][0]["low_watermark"] == 1000, out


@harness.timeout(60)
def test_describe_log_dirs():
    with Broker() as b:
        topic = harness.unique("ld")
        b.create_topic(topic, 2)
        produce(b.bootstrap, topic, 100, partition=1)
        with b.client() as c:
            for version in (0, 2, 4):
                out = c.call(kproto.DESCRIBE_LOG_DIRS, version, {"topics": None})
                result = out["results"][0]
                assert result["error_code"] == 0
                assert os.path.samefile(result["log_dir"], b.data_dir)
                sizes = {p["partition_index"]: p["partition_size"]
                         for t in result["topics"] if t["name"] == topic for p in t["partitions"]}
                assert sizes[0] == 0 and sizes[1] >= 100 * 100, sizes
                if version >= 4:
                    assert result["total_bytes"] > 0 and 0 <= result["usable_bytes"] <= result["total_bytes"]
            out = c.call(kproto.DESCRIBE_LOG_DIRS, 2, {"topics": [{"topic": topic, "partitions": [1]}]})
            topics = out["results"][0]["topics"]
            assert [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in topics] == [(topic, [1])]
