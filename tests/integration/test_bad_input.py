"""Bad input over the raw protocol: each case sends something a broken or hostile client might
send and checks Kafka's answer (an error code in the response, or a closed connection), then
checks that a new connection still gets an ApiVersions answer (the broker neither died nor
hung)."""

import random
import struct

import harness
import kproto
from harness import Broker
from kproto import Record, build_batch

TOPIC = "bad"


def broker(extra=None, name="bad"):
    overrides = {"num.partitions": 1, "auto.create.topics.enable": "false"}
    overrides.update(extra or {})
    return Broker(overrides, name=name)


def small_batch(n=3, **kwargs):
    return build_batch([Record(b"value-%d" % i, key=b"k%d" % i) for i in range(n)], **kwargs)


def produce_error(b, topic, partition, records_bytes, version=None):
    with b.client() as c:
        return c.produce_one(topic, partition, records_bytes, version=version)


@harness.timeout(60)
def test_wrong_crc_is_corrupt_message():
    with broker() as b:
        b.create_topic(TOPIC, 1)
        p = produce_error(b, TOPIC, 0, small_batch(corrupt_crc=True))
        assert p["error_code"] == kproto.CORRUPT_MESSAGE, p
        # Nothing was appended.
        with b.client() as c:
            assert c.list_offsets(TOPIC, 0, -1)["offset"] == 0
        b.assert_alive("a batch with a wrong CRC")


@harness.timeout(60)
def test_batch_over_message_max_bytes_is_message_too_large():
    with broker({"message.max.bytes": 1024}) as b:
        b.create_topic(TOPIC, 1)
        big = build_batch([Record(b"x" * 2000)])
        p = produce_error(b, TOPIC, 0, big)
        assert p["error_code"] == kproto.MESSAGE_TOO_LARGE, p
        ok = produce_error(b, TOPIC, 0, small_batch())
        assert ok["error_code"] == 0, ok
        b.assert_alive("an oversized batch")


@harness.timeout(60)
def test_unknown_topic_or_partition():
    with broker() as b:
        p = produce_error(b, "no-such-topic", 0, small_batch())
        assert p["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, p
        with b.client() as c:
            md, _ = c.metadata(["no-such-topic"], auto_create=True)
        (t,) = md["topics"]
        assert t["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, \
            "auto.create.topics.enable=false must not create on metadata: %r" % t
        b.create_topic(TOPIC, 1)
        p = produce_error(b, TOPIC, 7, small_batch())
        assert p["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, p
        with b.client() as c:
            f = c.fetch_partition("no-such-topic", 0, 0)
            assert f["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, f
            f = c.fetch_partition(TOPIC, 9, 0)
            assert f["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, f
            lo = c.list_offsets("no-such-topic", 0, -1)
            assert lo["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, lo
        b.assert_alive("unknown topics and partitions")


@harness.timeout(60)
def test_magic_1_is_invalid_record():
    with broker() as b:
        b.create_topic(TOPIC, 1)
        p = produce_error(b, TOPIC, 0, kproto.build_legacy_message_set(b"legacy", b"k", magic=1))
        assert p["error_code"] == kproto.INVALID_RECORD, p
        p = produce_error(b, TOPIC, 0, kproto.build_legacy_message_set(b"legacy", b"k", magic=0))
        assert p["error_code"] == kproto.INVALID_RECORD, p
        b.assert_alive("legacy message sets")


@harness.timeout(60)
def test_two_batches_in_one_partition_is_invalid_record():
    with broker() as b:
        b.create_topic(TOPIC, 1)
        p = produce_error(b, TOPIC, 0, small_batch(2) + small_batch(2))
        assert p["error_code"] == kproto.INVALID_RECORD, p
        with b.client() as c:
            assert c.list_offsets(TOPIC, 0, -1)["offset"] == 0
        b.assert_alive("two batches in one partition")


@harness.timeout(60)
def test_truncated_and_malformed_batches():
    """A batch whose length field overruns the records, one cut short, a record count that
    disagrees with the records, and an empty records field: an error code each, no crash."""
    with broker() as b:
        b.create_topic(TOPIC, 1)
        good = small_batch(3)
        cases = {
            "length overruns": good[:8] + struct.pack(">i", len(good)) + good[12:],
            "cut short": good[:40],
            "empty": b"",
        }
        # Record count 5 while 3 records follow, with a correct CRC over the lie.
        body = bytearray(good)
        struct.pack_into(">i", body, 57, 5)
        struct.pack_into(">I", body, 17, kproto.crc32c(bytes(body[21:])))
        cases["count mismatch"] = bytes(body)
        for what, records in cases.items():
            with b.client() as c:
                try:
                    p = c.produce_one(TOPIC, 0, records)
                except (kproto.ConnectionClosed, ConnectionError):
                    p = None  # Closing the connection is also acceptable for garbage.
            if p is not None:
                assert p["error_code"] in (kproto.CORRUPT_MESSAGE, kproto.INVALID_RECORD), (what, p)
            b.assert_alive("a %s batch" % what)
        with b.client() as c:
            assert c.list_offsets(TOPIC, 0, -1)["offset"] == 0, "a malformed batch was appended"


@harness.timeout(60)
def test_zstd_before_produce_v7_is_unsupported_compression():
    """Kafka accepts zstd batches only from Produce v7 (KIP-110)."""
    with broker() as b:
        b.create_topic(TOPIC, 1)
        with b.client() as c:
            zstd = small_batch(codec=kproto.CODEC_ZSTD)
            for v in (3, 6):
                p = c.produce_one(TOPIC, 0, zstd, version=v)
                assert p["error_code"] == kproto.UNSUPPORTED_COMPRESSION_TYPE, (v, p)
            p = c.produce_one(TOPIC, 0, zstd, version=7)
            assert p["error_code"] == 0, p
        b.assert_alive("zstd over old Produce versions")


@harness.timeout(60)
def test_produce_v2_is_unsupported_version():
    with broker() as b:
        b.create_topic(TOPIC, 1)
        with b.client() as c:
            c.api_versions(0)
            assert 0 in c.versions and c.versions[0][0] == 0, \
                "Produce should be advertised from v0 (librdkafka compresses only then): %r" % (
                    c.versions.get(0),)
            try:
                resp = c.produce(TOPIC, 0, small_batch(), version=2)
            except kproto.ConnectionClosed:
                raise AssertionError("Produce v2 closed the connection; expected UNSUPPORTED_VERSION")
            (t,) = resp["responses"]
            (p,) = t["partition_responses"]
            assert p["error_code"] == kproto.UNSUPPORTED_VERSION, p
        b.assert_alive("Produce v2")


@harness.timeout(60)
def test_frame_over_socket_request_max_bytes_closes():
    with broker({"socket.request.max.bytes": 1048576}) as b:
        with b.client() as c:
            c.send_raw(struct.pack(">i", 2 * 1048576) + b"\x00\x03\x00\x01" + b"\x00" * 4096)
            assert c.wait_closed(), "a frame over socket.request.max.bytes did not close the connection"
        with b.client() as c:
            c.send_raw(struct.pack(">i", -5) + b"\x00" * 16)
            assert c.wait_closed(), "a negative frame size did not close the connection"
        b.assert_alive("an oversized frame")


@harness.timeout(60)
def test_garbage_frames_close():
    with broker() as b:
        rng = random.Random(1234)
        frames = []
        for _ in range(5):
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(8, 200)))
            # An api key far outside Kafka's range, so the garbage cannot be a valid request.
            frames.append(b"\x7f" + body[1:])
        # A known api key with a body that cannot parse: a transactional id longer than the frame.
        frames.append(struct.pack(">hhih", 0, 3, 1, 4) + b"abcd" + struct.pack(">h", 30000) + b"xx")
        # Metadata v1 claiming two billion topics.
        frames.append(struct.pack(">hhih", 3, 1, 1, 4) + b"abcd" + struct.pack(">i", 0x7FFFFFF0))
        # A header cut off in the middle of the client id.
        frames.append(struct.pack(">hhih", 18, 0, 1, 50) + b"ab")
        for i, frame in enumerate(frames):
            with b.client() as c:
                c.send_frame(frame)
                assert c.wait_closed(), "garbage frame %d (%r...) did not close the connection" % (
                    i, frame[:16])
            b.assert_alive("garbage frame %d" % i)


@harness.timeout(60)
def test_unknown_api_key_closes():
    with broker() as b:
        with b.client() as c:
            c.send_frame(struct.pack(">hhih", 9999, 0, 1, 2) + b"it")
            assert c.wait_closed(), "an unknown api key did not close the connection"
        with b.client() as c:
            # A known key at a version far above any we support (not ApiVersions).
            c.send_frame(struct.pack(">hhih", 3, 99, 1, 2) + b"it")
            assert c.wait_closed(), "Metadata v99 did not close the connection"
        b.assert_alive("an unknown api key")


@harness.timeout(60)
def test_api_versions_v99_answers_unsupported_with_ranges():
    with broker() as b:
        with b.client() as c:
            cid = c.send_request(kproto.API_VERSIONS, 99, b"\x00\x00\x00", flexible=True)
            frame = c.recv_frame()
            r = kproto.Reader(frame)
            assert r.i32() == cid
            resp = kproto.API_VERSIONS_RESP.decode(0, r)
            assert r.remaining() == 0, "v0 body expected, %d bytes left" % r.remaining()
            assert resp["error_code"] == kproto.UNSUPPORTED_VERSION, resp
            ranges = {k["api_key"]: (k["min_version"], k["max_version"]) for k in resp["api_keys"]}
            assert kproto.API_VERSIONS in ranges and ranges[kproto.API_VERSIONS][1] >= 3, ranges
            assert kproto.PRODUCE in ranges and kproto.FETCH in ranges, ranges
            # The same connection is still usable: the client retries with a version we have.
            again = c.api_versions(min(3, ranges[kproto.API_VERSIONS][1]))
            assert again["error_code"] == 0
        b.assert_alive("ApiVersions v99")


@harness.timeout(60)
def test_acks_0_gets_no_response():
    with broker() as b:
        b.create_topic(TOPIC, 1)
        with b.client() as c:
            c.api_versions(0)
            c.produce(TOPIC, 0, small_batch(4), acks=0)
            # The next response on this connection must answer the next request.
            cid = c.send_request(kproto.API_VERSIONS, 0, b"")
            frame = c.recv_frame()
            got = struct.unpack_from(">i", frame)[0]
            assert got == cid, "response with correlation id %d after an acks=0 produce; " \
                "expected %d (the ApiVersions)" % (got, cid)
            # The data is written, though nothing acknowledged it.  Kafka handles one request
            # per connection at a time, so it is visible at once there; we only require it
            # within a bounded wait.
            want = [b"value-%d" % i for i in range(4)]
            harness.wait_for(lambda: [r[3] for r in kproto.read_all(c, TOPIC, 0)] == want, 10,
                             0.05, "the acks=0 records to become readable")
        b.assert_alive("acks=0")


@harness.timeout(60)
def test_failed_acks_0_produce_closes_connection():
    """With acks=0 there is no response to carry an error, so Kafka closes the connection."""
    with broker() as b:
        b.create_topic(TOPIC, 1)
        with b.client() as c:
            c.produce(TOPIC, 0, small_batch(corrupt_crc=True), acks=0)
            assert c.wait_closed(), "a failed acks=0 produce did not close the connection"
        b.assert_alive("a failed acks=0 produce")


@harness.timeout(60)
def test_invalid_acks():
    with broker() as b:
        b.create_topic(TOPIC, 1)
        with b.client() as c:
            p = c.produce_one(TOPIC, 0, small_batch(), acks=5)
            assert p["error_code"] == kproto.INVALID_REQUIRED_ACKS, p
        b.assert_alive("acks=5")


@harness.timeout(60)
def test_fetch_out_of_range():
    with broker() as b:
        b.create_topic(TOPIC, 1)
        with b.client() as c:
            assert c.produce_one(TOPIC, 0, small_batch(5))["error_code"] == 0
            for offset in (6, 1000, -1):
                p = c.fetch_partition(TOPIC, 0, offset)
                assert p["error_code"] == kproto.OFFSET_OUT_OF_RANGE, (offset, p)
                assert p["high_watermark"] == 5, p
            # The log end offset itself is in range: an empty answer, no error.
            p = c.fetch_partition(TOPIC, 0, 5)
            assert p["error_code"] == 0 and not kproto.records_of(p["records"]), p
        b.assert_alive("fetch out of range")


@harness.timeout(60)
def test_many_connections_opened_and_dropped():
    """Connections that send half a frame and vanish leave the broker serving others."""
    with broker() as b:
        clients = []
        for i in range(50):
            c = b.client()
            c.send_raw(struct.pack(">i", 100) + b"\x00\x12")
            clients.append(c)
        for c in clients:
            c.close()
        b.assert_alive("50 dropped half-frames")
