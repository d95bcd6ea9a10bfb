"""kcat (librdkafka 2.0) against the real broker: produce keyed records with headers, per
partition, with each compression codec, then consume them without a group and check every
record comes back byte-identical, in order per partition, with its key, headers and a
CreateTime timestamp taken while kcat was producing."""

import random
import time

import harness
from harness import KCAT, Broker, run

PARTITIONS = 3
RECORDS_PER_PARTITION = 400
# Printable bytes without space, colon or newline, plus some UTF-8, so records survive kcat's
# line-oriented input and the space-separated output format byte for byte.
ALPHABET = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            "-_.!@#$%^&*()[]{}<>?/|~+=;'\"`\\" + "\u00e9\u65e5\u672c")


def make_value(rng, tag, i):
    n = rng.choice([0, 1, 7, 64, 300, 1500, 5000])
    body = "".join(rng.choice(ALPHABET) for _ in range(n))
    return "%s-%d-%s" % (tag, i, body)


def now_ms():
    return int(time.time() * 1000)


def kcat_produce(broker, topic, partition, codec, lines, headers, extra=()):
    cmd = [KCAT, "-P", "-b", broker.bootstrap, "-t", topic, "-p", str(partition), "-z", codec,
           "-K:", "-X", "linger.ms=5", "-X", "batch.num.messages=100", "-m", "15"]
    for k, v in headers:
        cmd += ["-H", "%s=%s" % (k, v)]
    cmd += list(extra)
    data = ("\n".join(lines) + "\n").encode()
    run(cmd, timeout_s=60, input_bytes=data)


def kcat_consume(broker, topic, expected_total):
    cmd = [KCAT, "-C", "-b", broker.bootstrap, "-t", topic, "-e", "-o", "beginning", "-q",
           "-m", "15", "-f", "%p %o %k %s %T %h\n"]
    p = run(cmd, timeout_s=90)
    out = p.stdout.decode("utf-8")
    rows = []
    for line in out.split("\n"):
        if not line:
            continue
        parts = line.split(" ")
        assert len(parts) == 6, "unexpected kcat output line %r" % line[:200]
        part, offset, key, value, ts, hdrs = parts
        rows.append((int(part), int(offset), key, value, int(ts), hdrs))
    assert len(rows) == expected_total, "consumed %d records, expected %d; stderr %r" % (
        len(rows), expected_total, p.stderr[-2000:])
    return rows


def roundtrip(codec):
    rng = random.Random("kcat-" + codec)
    with Broker({"num.partitions": PARTITIONS}, name="kcat-" + codec) as b:
        topic = "kcat-%s" % codec
        # Metadata with allow_auto_topic_creation creates it with num.partitions.
        b.wait_topic(topic, PARTITIONS, auto_create=True)
        expected = {}
        windows = {}
        for p in range(PARTITIONS):
            recs = [("k%d-%d" % (p, i), make_value(rng, codec, i))
                    for i in range(RECORDS_PER_PARTITION)]
            headers = [("h1", "v1"), ("part", str(p)), ("codec", codec)]
            t0 = now_ms()
            kcat_produce(b, topic, p, codec, ["%s:%s" % kv for kv in recs], headers)
            t1 = now_ms()
            expected[p] = (recs, headers)
            windows[p] = (t0, t1 + 1)
        rows = kcat_consume(b, topic, PARTITIONS * RECORDS_PER_PARTITION)
        by_part = {}
        for row in rows:
            by_part.setdefault(row[0], []).append(row)
        assert sorted(by_part) == list(range(PARTITIONS)), sorted(by_part)
        for p in range(PARTITIONS):
            recs, headers = expected[p]
            got = by_part[p]
            t0, t1 = windows[p]
            want_headers = ",".join("%s=%s" % h for h in headers)
            for i, (row, (k, v)) in enumerate(zip(got, recs)):
                _, offset, key, value, ts, hdrs = row
                assert offset == i, "partition %d: record %d has offset %d" % (p, i, offset)
                assert key == k, "partition %d offset %d: key %r != %r" % (p, i, key, k)
                assert value == v, "partition %d offset %d: value differs (%d vs %d chars)" % (
                    p, i, len(value), len(v))
                assert hdrs == want_headers, "partition %d offset %d: headers %r != %r" % (
                    p, i, hdrs, want_headers)
                assert t0 <= ts <= t1, "partition %d offset %d: timestamp %d outside the produce "\
                    "window [%d, %d]" % (p, i, ts, t0, t1)
        b.assert_alive()


def _make(codec):
    @harness.timeout(180)
    def test():
        roundtrip(codec)
    test.__name__ = "test_roundtrip_%s" % codec
    return test


for _codec in harness.CODECS:
    globals()["test_roundtrip_%s" % _codec] = _make(_codec)
    globals()["test_roundtrip_%s" % _codec].__module__ = __name__


@harness.timeout(120)
def test_query_offset_by_timestamp():
    """kcat -Q (ListOffsets by timestamp): the first offset whose timestamp is >= the one
    asked, for topics written with each codec.  (Whether a probe falls inside a compressed
    batch depends on how librdkafka batched the records; a correct broker always passes.)"""
    problems = []
    with Broker({"num.partitions": 1}, name="kcat-query") as b:
        for codec in harness.CODECS:
            topic = "kcat-q-%s" % codec
            b.wait_topic(topic, 1, auto_create=True)
            lines = []
            for chunk in range(5):
                lines = ["k%d:%s-%d-%d" % (i, codec, chunk, i) for i in range(300)]
                kcat_produce(b, topic, 0, codec, lines, [("h", "v")])
                time.sleep(0.01)  # Spread the CreateTime stamps over a few milliseconds.
            rows = kcat_consume(b, topic, 5 * 300)
            for probe_row in (rows[1], rows[len(rows) // 3], rows[len(rows) // 2 + 7], rows[-2]):
                probe_ts = probe_row[4]
                want = next(row[1] for row in rows if row[4] >= probe_ts)
                q = run([KCAT, "-Q", "-b", b.bootstrap, "-t", "%s:0:%d" % (topic, probe_ts),
                         "-m", "15"], timeout_s=30)
                text = q.stdout.decode().strip()
                if ("offset %d" % want) not in text:
                    problems.append("%s: kcat -Q ts %d gave %r, expected offset %d" % (
                        codec, probe_ts, text, want))
    assert not problems, "; ".join(problems)


@harness.timeout(120)
def test_autocreate_random_partitioner_and_list():
    """Produce to a topic that does not exist yet (the producer's metadata request creates it),
    spreading records with the random partitioner; every record comes back once and each
    partition keeps the input order.  kcat -L lists the topic with its partitions."""
    with Broker({"num.partitions": 4}, name="kcat-auto") as b:
        topic = "kcat-auto"
        lines = ["key%d:val%d-%s" % (i, i, "x" * (i % 50)) for i in range(2000)]
        run([KCAT, "-P", "-b", b.bootstrap, "-t", topic, "-p", "-1", "-z", "lz4", "-K:", "-m", "15",
             "-X", "topic.partitioner=random"], timeout_s=60,
            input_bytes=("\n".join(lines) + "\n").encode())
        listing = run([KCAT, "-L", "-b", b.bootstrap, "-t", topic, "-m", "15"], timeout_s=30)
        text = listing.stdout.decode()
        assert 'topic "%s" with 4 partitions' % topic in text, text
        rows = kcat_consume_plain(b, topic, len(lines))
        index = {line: i for i, line in enumerate(lines)}
        seen = set()
        per_part = {}
        for part, offset, key, value in rows:
            line = "%s:%s" % (key, value)
            assert line in index, "unexpected record %r" % line[:100]
            assert line not in seen, "duplicate record %r" % line[:100]
            seen.add(line)
            per_part.setdefault(part, []).append((offset, index[line]))
        assert len(seen) == len(lines)
        for part, items in per_part.items():
            offsets = [o for o, _ in items]
            assert offsets == list(range(len(items))), "partition %d offsets not 0..n-1" % part
            order = [i for _, i in items]
            assert order == sorted(order), "partition %d lost the input order" % part


def kcat_consume_plain(broker, topic, expected_total):
    p = run([KCAT, "-C", "-b", broker.bootstrap, "-t", topic, "-e", "-o", "beginning", "-q",
             "-m", "15", "-f", "%p %o %k %s\n"], timeout_s=90)
    rows = []
    for line in p.stdout.decode().split("\n"):
        if line:
            part, offset, key, value = line.split(" ")
            rows.append((int(part), int(offset), key, value))
    assert len(rows) == expected_total, "consumed %d, expected %d; stderr %r" % (
        len(rows), expected_total, p.stderr[-2000:])
    return rows


@harness.timeout(120)
def test_large_single_message():
    """A single 900 KB message (one file, one message) survives the round trip."""
    with Broker({"num.partitions": 1}, name="kcat-large") as b:
        topic = "kcat-large"
        b.wait_topic(topic, 1, auto_create=True)
        rng = random.Random(7)
        value = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(900 * 1024))
        path = b.workdir + "/big.txt"
        with open(path, "w") as f:
            f.write(value)
        run([KCAT, "-P", "-b", b.bootstrap, "-t", topic, "-p", "0", "-m", "15", path], timeout_s=60)
        p = run([KCAT, "-C", "-b", b.bootstrap, "-t", topic, "-e", "-o", "beginning", "-q", "-m", "15",
                 "-f", "%o %S %s\n"], timeout_s=60)
        line = p.stdout.decode().rstrip("\n")
        offset, size, got = line.split(" ", 2)
        assert (int(offset), int(size)) == (0, len(value)), (offset, size)
        assert got == value, "value differs"
