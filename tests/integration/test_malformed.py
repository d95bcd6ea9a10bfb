"""Seeded malformed-input fuzzing over the raw protocol.

For every api key and version the broker advertises in ApiVersions, probes go out over fresh
and reused connections: a correct request header followed by a truncated valid body, by random
bytes, by bodies with huge array counts / string lengths / overlong uvarints / negative lengths;
frames whose size prefix disagrees with the bytes sent (then the socket is closed); unknown api
keys and versions; frames of size 0..7.  Each probe must be answered (with its correlation id)
or the connection closed within PROBE_WAIT_S; after each api key's batch a normal client still
produces and fetches, and at the end the broker is alive with no "level=fatal" in stderr.

The seed is printed; SLUICE_FUZZ_SEED=<n> replays a run.  A failure prints the probe's bytes.
"""

import os
import random
import socket
import struct
import time

import harness
import kproto
from harness import Broker
from kproto import Record, build_batch

TOPIC = "fuzz"
PROBE_WAIT_S = 5.0
PROBES_PER_VERSION = int(os.environ.get("SLUICE_FUZZ_PROBES") or 20)
SENTINEL_CID = 0x5EED0000
OUTCOMES = {}


def outcome(name):
    OUTCOMES[name] = OUTCOMES.get(name, 0) + 1

# Requests kproto can encode, with values that are valid against this broker.
def sample_values(api_key, rng):
    group = "g%d" % rng.randrange(1 << 30)
    if api_key == kproto.PRODUCE:
        return {"transactional_id": None, "acks": 1, "timeout_ms": 1000, "topic_data": [
            {"name": TOPIC, "partition_data": [
                {"index": 0, "records": build_batch([Record(b"fuzz-value", key=b"k")])}]}]}
    if api_key == kproto.FETCH:
        return {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 1, "max_bytes": 1 << 20,
                "isolation_level": 0, "topics": [{"topic": TOPIC, "partitions": [
                    {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 16}]}]}
    if api_key == kproto.LIST_OFFSETS:
        return {"replica_id": -1, "topics": [{"name": TOPIC, "partitions": [
            {"partition_index": 0, "timestamp": -1}]}]}
    if api_key == kproto.METADATA:
        return {"topics": [{"name": TOPIC}], "allow_auto_topic_creation": False}
    if api_key == kproto.API_VERSIONS:
        return {"client_software_name": "fuzz", "client_software_version": "1.0"}
    if api_key == kproto.CREATE_TOPICS:
        return {"topics": [{"name": "fz%d" % rng.randrange(1 << 20), "num_partitions": 1,
                            "replication_factor": 1, "assignments": [], "configs": []}],
                "timeout_ms": 1000, "validate_only": True}
    if api_key == kproto.INIT_PRODUCER_ID:
        return {"transactional_id": None}
    if api_key in (kproto.FIND_COORDINATOR,):
        return {"key": group}
    if api_key in (kproto.JOIN_GROUP, kproto.HEARTBEAT, kproto.LEAVE_GROUP, kproto.SYNC_GROUP,
                   kproto.OFFSET_COMMIT, kproto.OFFSET_FETCH, kproto.OFFSET_DELETE):
        return {"group_id": group, "session_timeout_ms": 6000, "rebalance_timeout_ms": 1000,
                "member_id": "", "protocol_type": "consumer"}
    if api_key == kproto.DESCRIBE_GROUPS:
        return {"groups": [group]}
    if api_key == kproto.DELETE_GROUPS:
        return {"groups_names": [group]}
    return {}


def schema(api_key):
    s = kproto.SCHEMAS.get(api_key)
    return s[0] if s else None


def is_flexible(api_key, version):
    s = schema(api_key)
    return s.flexible(version) if s else False


def valid_body(api_key, version, rng):
    s = schema(api_key)
    if s is None or version not in kproto.SCHEMAS[api_key][2]:
        return None
    try:
        return s.encode(version, sample_values(api_key, rng))
    except Exception:  # noqa: BLE001 - a field kproto cannot fill: no valid body then
        try:
            return s.encode(version, {})
        except Exception:  # noqa: BLE001
            return None


def decodes(api_key, version, body):
    """True if kproto parses `body` (a prefix is enough) as a well-formed request: then a
    pending answer (e.g. a long-poll Fetch) is legitimate, not a hang."""
    s = schema(api_key)
    if s is None:
        return False
    try:
        s.decode(version, kproto.Reader(body))
        return True
    except Exception:  # noqa: BLE001
        return False


def header(api_key, version, cid, flexible, client_id=b"fuzz"):
    h = struct.pack(">hhih", api_key, version, cid, len(client_id)) + client_id
    return h + (b"\x00" if flexible else b"")


def rand_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


BAD_UVARINTS = [b"\xff" * 10 + b"\x01", b"\x80" * 12, b"\xff" * 11, b"\xff\xff\xff\xff\x0f",
                b"\xff\xff\xff\xff\x07", b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00"]
BAD_I32 = [0x7FFFFFFF, -2, -0x80000000, 0x10000000, -100]
BAD_I16 = [0x7FFF, -2, -0x8000, 0x4000]


def huge_body(rng, valid, flexible):
    """A body carrying a huge count / length / bad uvarint / negative length, either spliced
    into a valid body at a random point or built from scratch."""
    kind = rng.randrange(6)
    if flexible:
        poison = rng.choice(BAD_UVARINTS)
    elif kind % 2:
        poison = struct.pack(">i", rng.choice(BAD_I32))
    else:
        poison = struct.pack(">h", rng.choice(BAD_I16))
    if valid and kind < 4:
        at = rng.randrange(len(valid) + 1)
        if kind < 2:   # overwrite
            return valid[:at] + poison + valid[at + len(poison):]
        return valid[:at] + poison + valid[at:]   # insert
    if kind == 4:
        # Every field huge: counts and lengths all at once.
        return b"".join(poison for _ in range(rng.randint(1, 8)))
    return rand_bytes(rng, rng.randint(0, 12)) + poison + rand_bytes(rng, rng.randint(0, 12))


def make_probe(rng, api_key, version, valid):
    """Returns (what, bytes_to_send, cid, close_after_send)."""
    cid = rng.randrange(1, 0x40000000)
    flexible = is_flexible(api_key, version)
    kind = rng.randrange(5)
    if kind == 0 and valid:
        cut = rng.randrange(len(valid)) if valid else 0
        body = valid[:cut]
        what = "truncated at %d of %d" % (cut, len(valid))
    elif kind <= 3:
        # Random or poisoned bodies that still parse as a well-formed request (say a
        # CreateTopics whose partition count became 32768) are redrawn: they are not malformed
        # input, and may legitimately take long.
        for _ in range(10):
            if kind <= 1:
                body = rand_bytes(rng, rng.choice([0, 1, 2, 3, 5, 8, 17, 40, 100, 300]))
                what = "random body"
            else:
                body = huge_body(rng, valid, flexible)
                what = "huge count/length/bad uvarint"
            if not decodes(api_key, version, body):
                break
    else:
        body = valid if valid else rand_bytes(rng, rng.randint(0, 64))
        frame = header(api_key, version, cid, flexible) + body
        lie = rng.choice([len(frame) + rng.randint(1, 100), max(0, len(frame) - rng.randint(1, 20)),
                          0x7FFFFFF0, 1 << 20])
        return ("size prefix %d for %d bytes" % (lie, len(frame)),
                struct.pack(">i", lie) + frame, cid, True)
    frame = header(api_key, version, cid, flexible) + body
    return what, struct.pack(">i", len(frame)) + frame, cid, False


class Conn:
    def __init__(self, b):
        self.sock = socket.create_connection((b.host, b.port), timeout=PROBE_WAIT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closed = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True

    def read_frame(self, deadline):
        """A response frame, None when the broker closed, or raises socket.timeout."""
        while True:
            if len(self.buf) >= 4:
                size = struct.unpack_from(">i", self.buf)[0]
                assert 4 <= size <= 1 << 30, "bad response size %d" % size
                if len(self.buf) >= 4 + size:
                    frame, self.buf = self.buf[4:4 + size], self.buf[4 + size:]
                    return frame
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk


def run_probe(b, conn, api_key, version, what, data, cid, close_after):
    """Sends one probe.  Returns the connection to reuse (None when it is gone)."""
    desc = "api %d v%d %s: %s" % (api_key, version, what, data[:200].hex())
    conn.send(data)
    if close_after:
        conn.close()
        outcome("sent then closed by us")
        return None
    # A sentinel ApiVersions v0 after the probe: a probe that needs no answer (acks=0) is then
    # told apart from a hang by the sentinel's answer.
    if not conn.closed:
        conn.send(struct.pack(">i", 10 + 4) + header(kproto.API_VERSIONS, 0, SENTINEL_CID, False))
    deadline = time.monotonic() + PROBE_WAIT_S
    while not conn.closed:
        try:
            frame = conn.read_frame(deadline)
        except socket.timeout:
            conn.close()
            body = data[4 + 14 + (1 if is_flexible(api_key, version) else 0):]
            if decodes(api_key, version, body):
                outcome("well-formed, still pending after %.0fs" % PROBE_WAIT_S)
                return None   # A well-formed request still pending (e.g. a long poll).
            raise AssertionError("broker neither answered nor closed within %.0fs after %s"
                                 % (PROBE_WAIT_S, desc))
        except AssertionError as e:
            raise AssertionError("%s after %s" % (e, desc))
        if frame is None:
            outcome("closed by broker")
            break
        got = struct.unpack_from(">i", frame)[0] if len(frame) >= 4 else None
        if got == SENTINEL_CID:
            outcome("connection kept (sentinel answered)")
            return conn
        if got == cid:
            outcome("answered")
        assert got == cid, "response with correlation id %r (expected %d) after %s" % (
            got, cid, desc)
    conn.close()
    return None


def normal_client_works(b, what):
    if not b.running():
        raise AssertionError("broker died after %s (exit %s)" % (what, b.proc.returncode))
    value = b"check-%d" % time.monotonic_ns()
    with b.client(timeout=10.0) as c:
        assert c.api_versions(0)["error_code"] == 0
        p = c.produce_one(TOPIC, 0, build_batch([Record(value)]))
        assert p["error_code"] == 0, (what, p)
        recs = kproto.read_all(c, TOPIC, 0, start=p["base_offset"], end=p["base_offset"] + 1)
        assert [r[3] for r in recs] == [value], (what, recs)


def check_no_fatal(b):
    fatal = [l for l in b.stderr_text().splitlines() if "level=fatal" in l]
    assert not fatal, "fatal in broker stderr: %r" % fatal[:5]


@harness.timeout(120)
def test_malformed_requests():
    seed = int(os.environ.get("SLUICE_FUZZ_SEED") or random.SystemRandom().randrange(1 << 31))
    print("SLUICE_FUZZ_SEED=%d" % seed, flush=True)
    rng = random.Random(seed)
    with Broker({"num.partitions": 1, "auto.create.topics.enable": "false",
                 "group.initial.rebalance.delay.ms": 0}, name="malformed") as b:
        b.create_topic(TOPIC, 1)
        with b.client() as c:
            resp = c.api_versions(0)
        advertised = sorted((k["api_key"], k["min_version"], k["max_version"])
                            for k in resp["api_keys"])
        print("advertised: %r" % (advertised,), flush=True)
        start = time.monotonic()
        probes = 0
        for api_key, lo, hi in advertised:
            conn = None
            for version in range(lo, hi + 1):
                for i in range(PROBES_PER_VERSION):
                    valid = valid_body(api_key, version, rng)
                    what, data, cid, close_after = make_probe(rng, api_key, version, valid)
                    if i % 2 == 0 or conn is None:   # fresh connection; odd probes reuse
                        if conn is not None:
                            conn.close()
                        conn = Conn(b)
                    conn = run_probe(b, conn, api_key, version, what, data, cid, close_after)
                    probes += 1
            if conn is not None:
                conn.close()
            normal_client_works(b, "probes on api key %d" % api_key)

        # Unknown api keys and versions, and tiny frames.
        known = {k for k, _, _ in advertised}
        extra = []
        for k in [-1, -32768, 32767, 9999, 1000] + [k for k in range(0, 80) if k not in known]:
            extra.append((k, rng.randrange(0, 20)))
        for k, lo, hi in advertised:
            for v in {hi + 1, hi + 7, 32767, -1, lo - 1} - set(range(lo, hi + 1)):
                extra.append((k, v))
        conn = None
        for i, (k, v) in enumerate(extra):
            cid = rng.randrange(1, 0x40000000)
            flexible = rng.random() < 0.5
            body = rand_bytes(rng, rng.randint(0, 24))
            frame = header(k, v, cid, flexible) + body
            if i % 2 == 0 or conn is None:
                if conn is not None:
                    conn.close()
                conn = Conn(b)
            conn = run_probe(b, conn, k, v, "unknown key/version",
                             struct.pack(">i", len(frame)) + frame, cid, False)
            probes += 1
        if conn is not None:
            conn.close()
        normal_client_works(b, "unknown api keys and versions")

        for size in range(0, 8):
            for payload in (b"\x00" * size, b"\xff" * size, rand_bytes(rng, size)):
                conn = Conn(b)
                conn = run_probe(b, conn, -1, -1, "frame of size %d" % size,
                                 struct.pack(">i", size) + payload, -12345, False)
                if conn is not None:
                    conn.close()
                probes += 1
        normal_client_works(b, "tiny frames")

        print("%d probes in %.1fs: %r" % (probes, time.monotonic() - start, OUTCOMES), flush=True)
        b.assert_alive("malformed input")
        check_no_fatal(b)
