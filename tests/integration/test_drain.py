"""A clean stop drains: SIGTERM closes the listening socket at once, answers a fetch parked in
purgatory (with a long max wait) and a produce that was already read, then exits 0 with the
clean-shutdown marker, well before the parked fetch's own deadline."""

import os
import socket
import time

import harness
import kproto
from harness import Broker


def port_is_closed(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


@harness.timeout(60)
def test_sigterm_answers_parked_fetch_and_stops_cleanly():
    with Broker() as b:
        topic = harness.unique("drain")
        b.create_topic(topic, 1)
        batch = kproto.build_batch([kproto.Record(b"v%d" % i) for i in range(10)])
        with b.client(timeout=30) as c:
            p = c.produce_one(topic, 0, batch)
            assert p["error_code"] == 0, p
        parked = b.client(timeout=30)
        try:
            # A fetch at the log end with a 25 s max wait parks in purgatory.
            v = parked.pick(kproto.FETCH, 4, 11)
            values = {"replica_id": -1, "max_wait_ms": 25000, "min_bytes": 1, "max_bytes": 1 << 20,
                      "isolation_level": 0, "topics": [{"topic": topic, "partitions": [
                          {"partition": 0, "fetch_offset": 10, "partition_max_bytes": 1 << 20}]}]}
            cid = parked.send_request(kproto.FETCH, v, kproto.FETCH_REQ.encode(v, values))
            time.sleep(0.5)
            started = time.monotonic()
            os.kill(b.pid, 15)
            response = parked.recv_response(kproto.FETCH, v, cid, timeout=20)
            answered_s = time.monotonic() - started
            (t,) = response["responses"]
            (part,) = t["partitions"]
            assert part["error_code"] == 0 and part["high_watermark"] == 10, part
            assert answered_s < 10, answered_s
        finally:
            parked.close()
        port = b.port
        code = b.stop(timeout_s=20)
        assert code == 0, code
        assert time.monotonic() - started < 15
        assert os.path.exists(os.path.join(b.data_dir, ".kafka_cleanshutdown"))
        assert port_is_closed(port)
        assert "drain_incomplete" not in b.stderr_text()
        assert "event_loop_stop_incomplete" not in b.stderr_text()


@harness.timeout(60)
def test_new_connections_are_refused_while_draining():
    with Broker() as b:
        topic = harness.unique("drain2")
        b.create_topic(topic, 1)
        slow = b.client(timeout=30)
        try:
            # Keep the drain busy: a parked fetch answered only at the stop.
            v = slow.pick(kproto.FETCH, 4, 11)
            values = {"replica_id": -1, "max_wait_ms": 25000, "min_bytes": 1, "max_bytes": 1 << 20,
                      "isolation_level": 0, "topics": [{"topic": topic, "partitions": [
                          {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}]}]}
            cid = slow.send_request(kproto.FETCH, v, kproto.FETCH_REQ.encode(v, values))
            time.sleep(0.3)
            os.kill(b.pid, 15)
            slow.recv_response(kproto.FETCH, v, cid, timeout=20)
        finally:
            slow.close()
        assert b.stop(timeout_s=20) == 0
        # Restarted, it serves again on the same port.
        b.start()
        b.assert_alive("restart after a drained stop")
