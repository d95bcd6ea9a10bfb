"""The on-disk layout is Kafka's and produced batches are stored verbatim.  Batches sent with the
raw client come back from the segment file byte for byte except the base offset and partition
leader epoch (the fields Kafka's broker sets); batches from librdkafka keep their codec bits and
a valid CRC-32C; after a clean stop the indexes are trimmed to whole, ordered entries, and
meta.properties, partition.metadata, leader-epoch-checkpoint and the log-dir checkpoints exist
in Kafka's text formats."""

import base64
import os
import struct

import harness
import kproto
from harness import Broker
from kproto import Record, build_batch

from confluent_kafka import Producer

SEGMENT = "00000000000000000000"


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def segment_batches(b, topic, partition):
    path = os.path.join(b.partition_dir(topic, partition), SEGMENT + ".log")
    assert os.path.exists(path), "missing %s; partition dir has %r" % (
        path, sorted(os.listdir(b.partition_dir(topic, partition)))
        if os.path.isdir(b.partition_dir(topic, partition)) else "no partition dir")
    data = read_file(path)
    batches = kproto.parse_batches(data)
    end = batches[-1].position + len(batches[-1].raw) if batches else 0
    tail = data[end:]
    assert tail.count(0) == len(tail), "%d non-zero bytes after the last batch in %s" % (
        len(tail) - tail.count(0), path)
    return batches, data


def check_batch_header(bt, where):
    assert bt.magic == 2, "%s: magic %d" % (where, bt.magic)
    assert bt.crc_ok(), "%s: CRC-32C over attributes..end does not match the header" % where
    assert bt.batch_length == len(bt.raw) - 12, where


def raw_batches_for(codec, count):
    out = []
    for i in range(count):
        records = [Record(b"%s batch %d record %d " % (codec.encode(), i, j) * (1 + j % 4),
                          key=b"key-%d" % j, headers=[("i", b"%d" % i), ("codec", codec.encode())],
                          timestamp=1_700_000_000_000 + i * 1000 + j)
                   for j in range(8)]
        out.append(build_batch(records, codec=kproto.CODEC_IDS[codec]))
    return out


@harness.timeout(150)
def test_raw_batches_stored_byte_for_byte():
    topic = "verbatim-raw"
    codecs = harness.CODECS
    sent = {}
    with Broker({"num.partitions": len(codecs)}, name="verbatim-raw") as b:
        b.create_topic(topic, len(codecs))
        with b.client() as c:
            for p, codec in enumerate(codecs):
                sent[p] = raw_batches_for(codec, 25)
                for i, raw in enumerate(sent[p]):
                    resp = c.produce_one(topic, p, raw)
                    assert resp["error_code"] == 0, (codec, i, resp)
                    assert resp["base_offset"] == i * 8, (codec, i, resp)
        assert b.stop() == 0
        for p, codec in enumerate(codecs):
            batches, _ = segment_batches(b, topic, p)
            assert len(batches) == len(sent[p]), "%s: %d batches on disk, %d sent" % (
                codec, len(batches), len(sent[p]))
            for i, (bt, raw) in enumerate(zip(batches, sent[p])):
                where = "%s batch %d" % (codec, i)
                check_batch_header(bt, where)
                assert bt.codec == kproto.CODEC_IDS[codec], where
                assert bt.base_offset == i * 8, (where, bt.base_offset)
                assert bt.raw[8:12] == raw[8:12], where + ": batch length changed"
                assert bt.raw[16:] == raw[16:], where + ": bytes after the leader epoch changed"
            check_indexes(b, topic, p, batches)
        check_log_dir_files(b, {(topic, p): 25 * 8 for p in range(len(codecs))})


@harness.timeout(150)
def test_client_codecs_on_disk():
    """librdkafka batches of each codec: codec bits, CRC, and the records decode."""
    topic = "verbatim-client"
    codecs = harness.CODECS
    with Broker({"num.partitions": len(codecs)}, name="verbatim-client") as b:
        b.create_topic(topic, len(codecs))
        expected = {}
        for p, codec in enumerate(codecs):
            producer = Producer({"bootstrap.servers": b.bootstrap, "compression.type": codec,
                                 "linger.ms": 20, "batch.num.messages": 100, "acks": "all"})
            values = [(b"%s record %d " % (codec.encode(), i)) * 20 for i in range(600)]
            for i, v in enumerate(values):
                producer.produce(topic, value=v, key=b"%d" % i, partition=p,
                                 headers=[("n", b"%d" % i)])
                if i % 100 == 0:
                    producer.poll(0)
            assert producer.flush(60) == 0
            expected[p] = values
        assert b.stop() == 0
        for p, codec in enumerate(codecs):
            batches, _ = segment_batches(b, topic, p)
            assert len(batches) > 1, "%s: expected several batches, got %d" % (codec, len(batches))
            got = []
            next_offset = 0
            for i, bt in enumerate(batches):
                where = "%s batch %d" % (codec, i)
                check_batch_header(bt, where)
                assert bt.codec == kproto.CODEC_IDS[codec], "%s: codec bits %d" % (where, bt.codec)
                assert bt.base_offset == next_offset, (where, bt.base_offset, next_offset)
                next_offset = bt.last_offset + 1
                got.extend(r[3] for r in bt.records())
            assert got == expected[p], "%s: records on disk differ from those produced" % codec
            check_indexes(b, topic, p, batches)
        check_log_dir_files(b, {(topic, p): 600 for p in range(len(codecs))})


def check_indexes(b, topic, partition, batches):
    d = b.partition_dir(topic, partition)
    index = read_file(os.path.join(d, SEGMENT + ".index"))
    timeindex = read_file(os.path.join(d, SEGMENT + ".timeindex"))
    assert len(index) % 8 == 0, "%s-%d: .index is %d bytes" % (topic, partition, len(index))
    assert len(timeindex) % 12 == 0, "%s-%d: .timeindex is %d bytes" % (topic, partition,
                                                                         len(timeindex))
    positions = {bt.position: bt for bt in batches}
    log_bytes = batches[-1].position + len(batches[-1].raw)
    entries = [struct.unpack_from(">II", index, i) for i in range(0, len(index), 8)]
    last = (-1, -1)
    for rel, pos in entries:
        assert rel > last[0] and pos > last[1], "%s-%d: .index entries not increasing (or " \
            "untrimmed zeros after a clean stop): %r after %r" % (topic, partition, (rel, pos), last)
        assert pos in positions, "%s-%d: .index position %d is not a batch start" % (
            topic, partition, pos)
        bt = positions[pos]
        assert bt.base_offset <= rel <= bt.last_offset, \
            "%s-%d: .index entry (%d, %d) names an offset outside the batch at that position " \
            "[%d, %d]" % (topic, partition, rel, pos, bt.base_offset, bt.last_offset)
        last = (rel, pos)
    if log_bytes > 3 * 4096 and len(batches) > 6:
        assert entries, "%s-%d: %d bytes of log but no .index entry (log.index.interval.bytes " \
            "4096)" % (topic, partition, log_bytes)
    max_ts = max(bt.max_timestamp for bt in batches)
    last_ts, last_rel = -1, -1
    for i in range(0, len(timeindex), 12):
        ts, rel = struct.unpack_from(">qI", timeindex, i)
        assert ts >= last_ts and rel >= last_rel, "%s-%d: .timeindex not ordered at entry %d" % (
            topic, partition, i // 12)
        assert ts <= max_ts and rel <= batches[-1].last_offset, (ts, rel)
        last_ts, last_rel = ts, rel


def parse_checkpoint(path):
    lines = read_file(path).decode().split("\n")
    assert lines[0] == "0", "%s: version line %r" % (path, lines[0])
    count = int(lines[1])
    entries = {}
    for line in lines[2:2 + count]:
        topic, partition, offset = line.split(" ")
        entries[(topic, int(partition))] = int(offset)
    rest = [x for x in lines[2 + count:] if x]
    assert not rest, "%s: %d lines beyond its count" % (path, len(rest))
    return entries


def parse_properties(path):
    props = {}
    for line in read_file(path).decode().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition("=")
        props[k.strip()] = v.strip()
    return props


def check_log_dir_files(b, high_watermarks):
    d = b.data_dir
    props = parse_properties(os.path.join(d, "meta.properties"))
    assert props.get("version") in ("0", "1"), props
    if props["version"] == "1":
        assert "node.id" in props and "cluster.id" in props, props
    else:
        assert "broker.id" in props, props
    if "cluster.id" in props:
        cid = props["cluster.id"]
        raw = base64.urlsafe_b64decode(cid + "=" * (-len(cid) % 4))
        assert len(raw) == 16, "cluster.id %r is not a base64 UUID" % cid

    recovery = parse_checkpoint(os.path.join(d, "recovery-point-offset-checkpoint"))
    replication = parse_checkpoint(os.path.join(d, "replication-offset-checkpoint"))
    parse_checkpoint(os.path.join(d, "log-start-offset-checkpoint"))
    for tp, hw in high_watermarks.items():
        assert replication.get(tp) == hw, "replication-offset-checkpoint %r: %r, expected %d" % (
            tp, replication.get(tp), hw)
        assert recovery.get(tp) == hw, "recovery-point-offset-checkpoint %r after a clean stop: " \
            "%r, expected %d" % (tp, recovery.get(tp), hw)

    for (topic, partition) in high_watermarks:
        pd = b.partition_dir(topic, partition)
        text = read_file(os.path.join(pd, "partition.metadata")).decode()
        lines = text.strip().split("\n")
        assert lines[0] == "version: 0", "partition.metadata: %r" % text
        assert lines[1].startswith("topic_id: "), "partition.metadata: %r" % text
        tid = lines[1][len("topic_id: "):]
        raw = base64.urlsafe_b64decode(tid + "=" * (-len(tid) % 4))
        assert len(raw) == 16, "topic_id %r is not a base64 UUID" % tid
        epochs = read_file(os.path.join(pd, "leader-epoch-checkpoint")).decode().split("\n")
        assert epochs[0] == "0", "leader-epoch-checkpoint: %r" % epochs
        n = int(epochs[1])
        for line in epochs[2:2 + n]:
            epoch, start = line.split(" ")
            assert int(epoch) >= 0 and int(start) >= 0, line
