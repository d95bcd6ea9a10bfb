"""Protocol facts Kafka clients rely on, checked over the raw protocol: ApiVersions in every
version, Metadata null/empty topic lists, every advertised version of Produce, Fetch,
ListOffsets and Metadata decoding cleanly, responses in request order on a pipelined
connection, Fetch returning a whole first batch even over max_bytes, CreateTopics errors, and
topic creation running off the network thread, and the socket buffer sizes of accepted
connections."""

import re
import subprocess

import harness
import kproto
from harness import Broker
from kproto import Record, build_batch


def batch(tag, n=3, ts=None):
    return build_batch([Record(b"%s-%d" % (tag, i), key=b"k", headers=[("h", b"v")],
                               timestamp=None if ts is None else ts + i) for i in range(n)])


@harness.timeout(60)
def test_api_versions_all_versions():
    with Broker(name="proto") as b:
        with b.client() as c:
            v0 = c.api_versions(0)
            ranges = c.versions
            assert v0["error_code"] == 0
            top = ranges[kproto.API_VERSIONS][1]
            assert top >= 3, "ApiVersions should go up to v3 (flexible), got %d" % top
            for v in range(0, min(top, 3) + 1):
                resp = c.api_versions(v)
                assert resp["error_code"] == 0, (v, resp)
                got = {k["api_key"]: (k["min_version"], k["max_version"]) for k in resp["api_keys"]}
                assert got == ranges, "ApiVersions v%d ranges differ from v0's" % v
            for key, (lo, hi) in ranges.items():
                assert 0 <= lo <= hi, (key, lo, hi)
            for key in (kproto.PRODUCE, kproto.FETCH, kproto.LIST_OFFSETS, kproto.METADATA,
                        kproto.API_VERSIONS, kproto.CREATE_TOPICS):
                assert key in ranges, "api key %d not advertised" % key
            assert ranges[kproto.PRODUCE][1] >= 7, "Produce v7+ needed for zstd: %r" % (
                ranges[kproto.PRODUCE],)
            assert kproto.FIND_COORDINATOR in ranges, \
                "FindCoordinator must be advertised (librdkafka gates compression on it)"
            print("advertised:", sorted(ranges.items()))


@harness.timeout(60)
def test_metadata_null_and_empty_topic_lists():
    with Broker({"num.partitions": 2}, name="proto-md") as b:
        b.create_topic("md-a", 2)
        b.create_topic("md-b", 1)
        with b.client() as c:
            c.api_versions(0)
            lo, hi = c.versions[kproto.METADATA]
            for v in range(max(lo, 0), min(hi, 12) + 1):
                if v >= 1:
                    every = c.call(kproto.METADATA, v, {"topics": None, "allow_auto_topic_creation": False})
                    names = {t["name"] for t in every["topics"]}
                    assert {"md-a", "md-b"} <= names, (v, names)
                    none = c.call(kproto.METADATA, v, {"topics": [], "allow_auto_topic_creation": False})
                    assert none["topics"] == [], "v%d: an empty list means no topics: %r" % (v, none)
                    assert none["controller_id"] == every["brokers"][0]["node_id"], every
                else:
                    every = c.call(kproto.METADATA, 0, {"topics": []})
                    names = {t["name"] for t in every["topics"]}
                    assert {"md-a", "md-b"} <= names, "v0: an empty list means every topic: %r" % names
                (broker,) = every["brokers"]
                assert (broker["host"], broker["port"]) == ("127.0.0.1", b.port), broker
                one = c.call(kproto.METADATA, v, {"topics": [{"name": "md-a"}],
                                                  "allow_auto_topic_creation": False})
                (t,) = one["topics"]
                assert t["error_code"] == 0 and t["name"] == "md-a"
                assert sorted(p["partition_index"] for p in t["partitions"]) == [0, 1]
                for p in t["partitions"]:
                    assert p["leader_id"] == broker["node_id"], p
                    assert p["replica_nodes"] == [broker["node_id"]], p
                    assert p["isr_nodes"] == [broker["node_id"]], p


@harness.timeout(90)
def test_every_advertised_version_round_trips():
    """Produce with each advertised version >= 3, then Fetch and ListOffsets with each advertised
    version; every response decodes with nothing left over."""
    with Broker({"num.partitions": 1}, name="proto-ver") as b:
        b.create_topic("ver", 1)
        with b.client() as c:
            c.api_versions(0)
            lo, hi = c.versions[kproto.PRODUCE]
            expected = []
            for v in range(max(lo, 3), min(hi, 9) + 1):
                p = c.produce_one("ver", 0, batch(b"v%d" % v), version=v)
                assert p["error_code"] == 0, (v, p)
                assert p["base_offset"] == len(expected), (v, p, len(expected))
                expected += [b"v%d-%d" % (v, i) for i in range(3)]
            lo, hi = c.versions[kproto.FETCH]
            for v in range(max(lo, 4), min(hi, 12) + 1):
                p = c.fetch_partition("ver", 0, 0, version=v)
                assert p["error_code"] == 0, (v, p)
                assert p["high_watermark"] == len(expected), (v, p["high_watermark"])
                values = [r[3] for r in kproto.records_of(p["records"])]
                assert values == expected, "Fetch v%d: %r" % (v, values[:5])
                for bt in kproto.parse_batches(p["records"], strict=True):
                    assert bt.crc_ok(), "Fetch v%d: batch at %d has a bad CRC" % (v, bt.base_offset)
            lo, hi = c.versions[kproto.LIST_OFFSETS]
            for v in range(max(lo, 1), min(hi, 6) + 1):
                assert c.list_offsets("ver", 0, -1, version=v)["offset"] == len(expected), v
                assert c.list_offsets("ver", 0, -2, version=v)["offset"] == 0, v


@harness.timeout(60)
def test_pipelined_responses_keep_request_order():
    """Twenty requests of mixed kinds sent back to back; the responses come back in order."""
    with Broker({"num.partitions": 1}, name="proto-pipe") as b:
        b.create_topic("pipe", 1)
        with b.client() as c:
            c.api_versions(0)
            pv = c.pick(kproto.PRODUCE, 3)
            fv = c.pick(kproto.FETCH, 4, 11)
            mv = c.pick(kproto.METADATA, 1)
            sent = []
            for i in range(20):
                kind = i % 4
                if kind == 0:
                    body = kproto.PRODUCE_REQ.encode(pv, {"transactional_id": None, "acks": 1,
                                                          "timeout_ms": 5000, "topic_data": [
                        {"name": "pipe", "partition_data": [{"index": 0, "records": batch(b"p%d" % i)}]}]})
                    sent.append((kproto.PRODUCE, pv, c.send_request(kproto.PRODUCE, pv, body)))
                elif kind == 1:
                    body = kproto.FETCH_REQ.encode(fv, {"max_wait_ms": 0, "min_bytes": 0, "topics": [
                        {"topic": "pipe", "partitions": [{"partition": 0, "fetch_offset": 0,
                                                          "partition_max_bytes": 1 << 20}]}]})
                    sent.append((kproto.FETCH, fv, c.send_request(kproto.FETCH, fv, body)))
                elif kind == 2:
                    body = kproto.METADATA_REQ.encode(mv, {"topics": None})
                    sent.append((kproto.METADATA, mv, c.send_request(kproto.METADATA, mv, body)))
                else:
                    sent.append((kproto.API_VERSIONS, 0, c.send_request(kproto.API_VERSIONS, 0, b"")))
            for api_key, v, cid in sent:
                resp = c.recv_response(api_key, v, cid)  # Raises on a correlation id mismatch.
                if api_key == kproto.PRODUCE:
                    assert resp["responses"][0]["partition_responses"][0]["error_code"] == 0


@harness.timeout(60)
def test_fetch_returns_whole_first_batch_over_max_bytes():
    with Broker({"num.partitions": 1}, name="proto-big") as b:
        b.create_topic("big", 1)
        with b.client() as c:
            big = build_batch([Record(b"x" * 20000)])
            assert c.produce_one("big", 0, big)["error_code"] == 0
            assert c.produce_one("big", 0, batch(b"after"))["error_code"] == 0
            p = c.fetch_partition("big", 0, 0, partition_max_bytes=100, max_bytes=100)
            assert p["error_code"] == 0, p
            batches = kproto.parse_batches(p["records"])
            assert batches and batches[0].base_offset == 0, \
                "the first batch must come back whole even over max_bytes (%d bytes returned)" % (
                    len(p["records"] or b""))
            assert batches[0].records()[0][3] == b"x" * 20000
            # Ranges end at batch boundaries (DESIGN 1a): no partial batch after it.
            kproto.parse_batches(p["records"], strict=True)


@harness.timeout(60)
def test_fetch_from_middle_of_batch_and_batch_boundaries():
    """Fetching an offset inside a batch returns that whole batch (clients skip the earlier
    records); every returned range ends at a batch boundary."""
    with Broker({"num.partitions": 1}, name="proto-mid") as b:
        b.create_topic("mid", 1)
        with b.client() as c:
            for i in range(10):
                assert c.produce_one("mid", 0, batch(b"b%d" % i, n=5))["error_code"] == 0
            p = c.fetch_partition("mid", 0, 12, partition_max_bytes=300)
            batches = kproto.parse_batches(p["records"], strict=True)
            assert batches[0].base_offset <= 12 <= batches[0].last_offset, \
                [(x.base_offset, x.last_offset) for x in batches]
            values = [r[3] for r in kproto.read_all(c, "mid", 0, start=12)]
            assert values[0] == b"b2-2" and len(values) == 38, values[:3]


@harness.timeout(60)
def test_list_offsets_special_timestamps():
    with Broker({"num.partitions": 1}, name="proto-lo") as b:
        b.create_topic("lo", 1)
        with b.client() as c:
            base = 1_700_000_000_000
            for i in range(5):
                bt = batch(b"t%d" % i, n=2, ts=base + i * 100)
                assert c.produce_one("lo", 0, bt)["error_code"] == 0
            assert c.list_offsets("lo", 0, -2)["offset"] == 0  # earliest
            assert c.list_offsets("lo", 0, -1)["offset"] == 10  # latest
            p = c.list_offsets("lo", 0, base + 150)
            assert (p["offset"], p["timestamp"]) == (4, base + 200), p
            p = c.list_offsets("lo", 0, base + 201)
            assert (p["offset"], p["timestamp"]) == (5, base + 201), p
            p = c.list_offsets("lo", 0, base + 10_000)
            assert p["offset"] == -1 and p["error_code"] == 0, p
            b.assert_alive()


@harness.timeout(180)
def test_topic_creation_does_not_hold_the_network_thread():
    """One network thread, two connections: while connection A's CreateTopics of 1,500 partitions
    is being worked on (seconds: a directory, files and fsyncs per partition), connection B's
    Metadata is answered, and A's answer has not come yet. Before the admin thread, the network
    thread made the partitions itself and B's answer waited behind all of them."""
    import select
    with Broker({"num.network.threads": 1}, name="proto-admin") as b:
        with b.client(timeout=150.0) as a, b.client() as c:
            v = a.pick(kproto.CREATE_TOPICS)
            body = kproto.CREATE_TOPICS_REQ.encode(v, {"topics": [
                {"name": "wide", "num_partitions": 1500, "replication_factor": 1, "assignments": [], "configs": []}],
                "timeout_ms": 120000})
            cid = a.send_request(kproto.CREATE_TOPICS, v, body)
            meta, _ = c.metadata(["other"], auto_create=False)
            assert meta["topics"][0]["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, meta
            readable, _, _ = select.select([a.sock], [], [], 0)
            assert not readable, "CreateTopics answered before a Metadata sent after it: was it that fast?"
            resp = a.recv_response(kproto.CREATE_TOPICS, v, cid, timeout=150.0)
            assert resp["topics"][0]["error_code"] == 0, resp
            meta, _ = c.metadata(["wide"], auto_create=False)
            assert len(meta["topics"][0]["partitions"]) == 1500, meta["topics"][0]["error_code"]
        b.assert_alive()


@harness.timeout(180)
def test_metadata_auto_creation_does_not_hold_the_network_thread():
    """The same for a topic that a Metadata request creates (auto.create.topics.enable, with
    num.partitions 3,000): while A's Metadata waits for the admin thread to make the partitions,
    B's Metadata on the same network thread is answered, and A's answer then describes them all."""
    import select
    with Broker({"num.network.threads": 1, "num.partitions": 3000}, name="proto-auto-admin") as b:
        with b.client(timeout=150.0) as a, b.client() as c:
            v = a.pick(kproto.METADATA, 1)
            body = {"topics": [{"name": "auto-wide"}], "allow_auto_topic_creation": True}
            cid = a.send_request(kproto.METADATA, v, kproto.METADATA_REQ.encode(v, body))
            meta, _ = c.metadata(["other"], auto_create=False)
            assert meta["topics"][0]["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, meta
            readable, _, _ = select.select([a.sock], [], [], 0)
            assert not readable, "the creating Metadata answered before a Metadata sent after it: was it that fast?"
            resp = a.recv_response(kproto.METADATA, v, cid, timeout=150.0)
            assert resp["topics"][0]["error_code"] == 0, resp["topics"][0]["error_code"]
            assert len(resp["topics"][0]["partitions"]) == 3000
        b.assert_alive()


@harness.timeout(60)
def test_create_topics_errors():
    with Broker({"num.partitions": 4}, name="proto-ct") as b:
        with b.client() as c:
            resp = c.create_topics([("good", 3, None)])
            assert resp["topics"][0]["error_code"] == 0, resp
            resp = c.create_topics([("good", 3, None)])
            assert resp["topics"][0]["error_code"] == kproto.TOPIC_ALREADY_EXISTS, resp
            resp = c.create_topics([("bad/name", 1, None)])
            assert resp["topics"][0]["error_code"] == kproto.INVALID_TOPIC_EXCEPTION, resp
            resp = c.create_topics([("x" * 250, 1, None)])
            assert resp["topics"][0]["error_code"] == kproto.INVALID_TOPIC_EXCEPTION, resp
            resp = c.create_topics([("zero", 0, None)])
            assert resp["topics"][0]["error_code"] == kproto.INVALID_PARTITIONS, resp
            v = c.pick(kproto.CREATE_TOPICS)
            resp = c.call(kproto.CREATE_TOPICS, v, {"topics": [
                {"name": "rf3", "num_partitions": 1, "replication_factor": 3}], "timeout_ms": 5000})
            assert resp["topics"][0]["error_code"] == kproto.INVALID_REPLICATION_FACTOR, resp
            resp = c.call(kproto.CREATE_TOPICS, v, {"topics": [
                {"name": "validate", "num_partitions": 2, "replication_factor": 1}],
                "timeout_ms": 5000, "validate_only": True})
            assert resp["topics"][0]["error_code"] == 0, resp
            md, _ = c.metadata(["validate"], auto_create=False)
            assert md["topics"][0]["error_code"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, \
                "validate_only created the topic: %r" % md
            if v >= 4:
                # -1 partitions / replication factor means the broker's defaults (KIP-464).
                resp = c.call(kproto.CREATE_TOPICS, v, {"topics": [
                    {"name": "defaults", "num_partitions": -1, "replication_factor": -1}],
                    "timeout_ms": 5000})
                assert resp["topics"][0]["error_code"] == 0, resp
        b.wait_topic("good", 3)
        if v >= 4:
            b.wait_topic("defaults", 4)


def _server_socket_buffers(port):
    """(send, receive) buffer bytes of the broker's side of the connections on `port`, from ss."""
    out = subprocess.run(["ss", "-tmnH", "state", "established", "( sport = :%d )" % port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20, check=True).stdout.decode()
    found = re.findall(r"skmem:\(r\d+,rb(\d+),t\d+,tb(\d+)", out)
    assert found, "no established socket on port %d in: %r" % (port, out)
    return [(int(tb), int(rb)) for rb, tb in found]


def test_socket_buffer_sizes_reach_accepted_connections():
    """socket.send.buffer.bytes / socket.receive.buffer.bytes set SO_SNDBUF / SO_RCVBUF on the
    broker's side of each connection (Linux reports twice the size asked); unset (Sluice's default,
    -1), the kernel sizes them."""
    with Broker(name="sockbuf", overrides={"socket.send.buffer.bytes": "40960",
                                           "socket.receive.buffer.bytes": "61440"}) as b:
        with b.client() as c:
            assert c.api_versions(0)["error_code"] == 0
            assert _server_socket_buffers(b.port) == [(2 * 40960, 2 * 61440)]
    with Broker(name="sockbuf-default") as b:
        with b.client() as c:
            assert c.api_versions(0)["error_code"] == 0
            (send, receive), = _server_socket_buffers(b.port)
            assert (send, receive) != (2 * 40960, 2 * 61440)
