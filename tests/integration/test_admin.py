"""The admin API with the clients' own admin tools: DeleteTopics from confluent-kafka's and
kafka-python's admin clients removes the topic from Metadata and its files from the disk, refuses
internal topics, answers unknown topics with UNKNOWN_TOPIC_OR_PARTITION, and a topic of the same
name can be created again and starts empty."""

import os

import harness
from harness import Broker

import confluent_kafka
from confluent_kafka.admin import AdminClient, NewTopic


def produce(bootstrap, topic, count):
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        producer.produce(topic, value=b"v%d" % i, partition=i % 2)
    assert producer.flush(30) == 0


def topic_dirs(b, topic):
    return sorted(n for n in os.listdir(b.data_dir) if n.rsplit("-", 1)[0] == topic)


@harness.timeout(90)
def test_delete_topic_with_confluent_admin():
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        topic = harness.unique("doomed")
        admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
        produce(b.bootstrap, topic, 100)
        assert topic_dirs(b, topic) == ["%s-0" % topic, "%s-1" % topic]
        admin.delete_topics([topic], operation_timeout=30)[topic].result(30)
        assert topic_dirs(b, topic) == [], os.listdir(b.data_dir)
        assert not [n for n in os.listdir(b.data_dir) if n.endswith("-delete")]
        assert topic not in admin.list_topics(timeout=10).topics
        # Deleting it again: unknown.
        try:
            admin.delete_topics([topic], operation_timeout=30)[topic].result(30)
            raise AssertionError("a second delete succeeded")
        except confluent_kafka.KafkaException as e:
            assert e.args[0].code() == confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART, e
        # Internal topics stay.
        try:
            admin.delete_topics(["__consumer_offsets"], operation_timeout=30)["__consumer_offsets"].result(30)
            raise AssertionError("__consumer_offsets was deleted")
        except confluent_kafka.KafkaException:
            pass
        # The name is free again, and the new topic starts empty.
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        consumer = confluent_kafka.Consumer({"bootstrap.servers": b.bootstrap, "group.id": harness.unique("g")})
        try:
            low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0), timeout=10)
        finally:
            consumer.close()
        assert (low, high) == (0, 0), (low, high)
        # After a restart the deleted topic does not come back.
        assert b.stop() == 0
        b.start()
        assert topic_dirs(b, topic) == ["%s-0" % topic]


@harness.timeout(90)
def test_delete_topic_with_kafka_python_admin():
    from kafka.admin import KafkaAdminClient, NewTopic as KNewTopic
    with Broker() as b:
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=20000)
        try:
            topic = harness.unique("kp-doomed")
            admin.create_topics([KNewTopic(topic, 1, 1)])
            produce(b.bootstrap, topic, 10)
            admin.delete_topics([topic], timeout_ms=20000)
            assert topic_dirs(b, topic) == []
            assert topic not in admin.list_topics()
        finally:
            admin.close()
