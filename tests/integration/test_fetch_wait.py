"""Fetch long polling (purgatory).  A fetch parked on an empty partition is answered once data is
produced from another connection, before its max wait; one that stays empty is answered after
roughly its max wait.  Only ordering facts are asserted (which event came first, whether data
came back), plus one-sided lower bounds: a broker cannot pass them by being slow."""

import threading
import time

import harness
import kproto
from harness import Broker
from kproto import Record, build_batch

TOPIC = "wait"


def send_fetch(c, offset, max_wait_ms, min_bytes, partition=0):
    v = c.pick(kproto.FETCH, 4, 11)
    body = kproto.FETCH_REQ.encode(v, {"max_wait_ms": max_wait_ms, "min_bytes": min_bytes,
                                       "topics": [{"topic": TOPIC, "partitions": [
                                           {"partition": partition, "fetch_offset": offset,
                                            "partition_max_bytes": 1 << 20}]}]})
    return v, c.send_request(kproto.FETCH, v, body)


def only_partition(resp):
    (t,) = resp["responses"]
    (p,) = t["partitions"]
    return p


@harness.timeout(90)
def test_parked_fetch_wakes_on_produce():
    max_wait_ms = 20000
    with Broker({"num.partitions": 1}, name="wait-wake") as b:
        b.create_topic(TOPIC, 1)
        with b.client(timeout=30) as consumer, b.client() as producer:
            consumer.api_versions(0)
            start = time.monotonic()
            v, cid = send_fetch(consumer, 0, max_wait_ms, 1)
            # Give the broker a moment to park the fetch; correctness does not depend on it.
            time.sleep(0.3)
            produced_at = time.monotonic()
            p = producer.produce_one(TOPIC, 0, build_batch([Record(b"wake-up")]))
            assert p["error_code"] == 0, p
            resp = consumer.recv_response(kproto.FETCH, v, cid, timeout=30)
            answered_at = time.monotonic()
            part = only_partition(resp)
            assert part["error_code"] == 0, part
            values = [r[3] for r in kproto.records_of(part["records"])]
            assert values == [b"wake-up"], "the parked fetch returned %r" % values
            assert answered_at - start < max_wait_ms / 1000.0, \
                "the fetch was answered only at its max wait (%.1fs), not when data arrived" % (
                    answered_at - start)
            assert answered_at >= produced_at


@harness.timeout(60)
def test_empty_fetch_waits_for_max_wait():
    max_wait_ms = 2000
    with Broker({"num.partitions": 1}, name="wait-empty") as b:
        b.create_topic(TOPIC, 1)
        with b.client(timeout=30) as c:
            c.api_versions(0)
            start = time.monotonic()
            v, cid = send_fetch(c, 0, max_wait_ms, 1)
            resp = c.recv_response(kproto.FETCH, v, cid, timeout=30)
            elapsed = time.monotonic() - start
            part = only_partition(resp)
            assert part["error_code"] == 0, part
            assert not kproto.records_of(part["records"]), part
            # One-sided: an answer long before max wait means no long polling at all.
            assert elapsed >= (max_wait_ms / 1000.0) * 0.5, \
                "an empty fetch returned after %.2fs, max wait was %.1fs" % (elapsed, max_wait_ms / 1000.0)
            # The connection still works after a parked fetch expired.
            assert c.api_versions(0)["error_code"] == 0


@harness.timeout(60)
def test_min_bytes_not_reached_waits_then_returns_data():
    max_wait_ms = 2000
    with Broker({"num.partitions": 1}, name="wait-minbytes") as b:
        b.create_topic(TOPIC, 1)
        with b.client(timeout=30) as c:
            assert c.produce_one(TOPIC, 0, build_batch([Record(b"small")]))["error_code"] == 0
            start = time.monotonic()
            v, cid = send_fetch(c, 0, max_wait_ms, 1 << 20)
            resp = c.recv_response(kproto.FETCH, v, cid, timeout=30)
            elapsed = time.monotonic() - start
            part = only_partition(resp)
            assert [r[3] for r in kproto.records_of(part["records"])] == [b"small"], part
            assert elapsed >= (max_wait_ms / 1000.0) * 0.5, \
                "min_bytes was not reached but the fetch returned after %.2fs" % elapsed


@harness.timeout(60)
def test_parked_fetch_does_not_block_other_requests():
    """While one connection has a parked fetch, another connection (and a later request on a
    third) is served; responses on the parked connection still come back in order."""
    with Broker({"num.partitions": 1}, name="wait-other") as b:
        b.create_topic(TOPIC, 1)
        with b.client(timeout=30) as parked, b.client() as other:
            parked.api_versions(0)
            v, cid = send_fetch(parked, 0, 5000, 1)
            follow = parked.send_request(kproto.API_VERSIONS, 0, b"")
            for _ in range(5):
                assert other.api_versions(0)["error_code"] == 0
            assert other.produce_one(TOPIC, 0, build_batch([Record(b"x")]))["error_code"] == 0
            resp = parked.recv_response(kproto.FETCH, v, cid, timeout=30)
            assert [r[3] for r in kproto.records_of(only_partition(resp)["records"])] == [b"x"]
            frame = parked.recv_frame(timeout=30)
            assert kproto.Reader(frame).i32() == follow


@harness.timeout(90)
def test_many_parked_fetches_all_answered():
    """Twenty connections park fetches; one produce wakes every one of them."""
    with Broker({"num.partitions": 1}, name="wait-many") as b:
        b.create_topic(TOPIC, 1)
        clients = [b.client(timeout=30) for _ in range(20)]
        try:
            pending = []
            start = time.monotonic()
            for c in clients:
                c.api_versions(0)
                pending.append(send_fetch(c, 0, 20000, 1))
            time.sleep(0.3)
            with b.client() as producer:
                assert producer.produce_one(TOPIC, 0, build_batch([Record(b"all")]))["error_code"] == 0
            results = [None] * len(clients)

            def receive(i):
                try:
                    v, cid = pending[i]
                    resp = clients[i].recv_response(kproto.FETCH, v, cid, timeout=30)
                    results[i] = [r[3] for r in kproto.records_of(only_partition(resp)["records"])]
                except Exception as e:  # noqa: BLE001
                    results[i] = e
            threads = [threading.Thread(target=receive, args=(i,)) for i in range(len(clients))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(40)
            bad = [(i, r) for i, r in enumerate(results) if r != [b"all"]]
            assert not bad, "fetches without the data: %r" % bad[:5]
            assert time.monotonic() - start < 20.0, \
                "the parked fetches were answered only at their max wait, not when data arrived"
        finally:
            for c in clients:
                c.close()
