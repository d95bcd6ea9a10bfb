"""A small raw Kafka protocol client for protocol-edge and bad-input tests.

Every request and response is described once as a list of fields with the versions they exist
in (the same shape as Kafka's JSON message definitions); one generic encoder/decoder handles
classic and flexible (compact, tagged-field) versions.  Record batches v2 are built and parsed
by hand, with a table-driven pure-Python CRC-32C.  No third-party imports at module level.
"""

import socket
import struct
import time

# ---------------------------------------------------------------------------------------------
# CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, table-driven.


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC32C_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    table = _CRC32C_TABLE
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283

# ---------------------------------------------------------------------------------------------
# Error codes used by the tests.

NONE = 0
OFFSET_OUT_OF_RANGE = 1
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_FETCH_SIZE = 4
MESSAGE_TOO_LARGE = 10
INVALID_TOPIC_EXCEPTION = 17
INVALID_REQUIRED_ACKS = 21
UNSUPPORTED_VERSION = 35
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_REQUEST = 42
INVALID_CONFIG = 40
INVALID_PARTITIONS = 37
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
DUPLICATE_SEQUENCE_NUMBER = 46
INVALID_PRODUCER_EPOCH = 47
UNSUPPORTED_FOR_MESSAGE_FORMAT = 43
UNSUPPORTED_COMPRESSION_TYPE = 76
INVALID_RECORD = 87
# Group coordinator error codes.
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
OFFSET_METADATA_TOO_LARGE = 12
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
GROUP_SUBSCRIBED_TO_TOPIC = 86

# API keys.
PRODUCE = 0
FETCH = 1
LIST_OFFSETS = 2
METADATA = 3
FIND_COORDINATOR = 10
API_VERSIONS = 18
CREATE_TOPICS = 19
INIT_PRODUCER_ID = 22
OFFSET_COMMIT = 8
OFFSET_FETCH = 9
JOIN_GROUP = 11
HEARTBEAT = 12
LEAVE_GROUP = 13
SYNC_GROUP = 14
DESCRIBE_GROUPS = 15
LIST_GROUPS = 16
DELETE_GROUPS = 42
OFFSET_DELETE = 47
DELETE_RECORDS = 21
DESCRIBE_CONFIGS = 32
ALTER_CONFIGS = 33
DESCRIBE_LOG_DIRS = 35
CREATE_PARTITIONS = 37
INCREMENTAL_ALTER_CONFIGS = 44

# ---------------------------------------------------------------------------------------------
# Primitive writer and reader.


class Writer:
    def __init__(self):
        self.parts = []

    def raw(self, b):
        self.parts.append(bytes(b))
        return self

    def i8(self, v):
        return self.raw(struct.pack(">b", v))

    def i16(self, v):
        return self.raw(struct.pack(">h", v))

    def i32(self, v):
        return self.raw(struct.pack(">i", v))

    def i64(self, v):
        return self.raw(struct.pack(">q", v))

    def u32(self, v):
        return self.raw(struct.pack(">I", v))

    def boolean(self, v):
        return self.raw(b"\x01" if v else b"\x00")

    def uvarint(self, v):
        assert v >= 0
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out.append(b | 0x80)
            else:
                out.append(b)
                break
        return self.raw(out)

    def varint(self, v):
        # Zigzag; identical for 32- and 64-bit values in range.
        return self.uvarint((v << 1) ^ (v >> 63))

    def build(self):
        return b"".join(self.parts)


class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data, pos=0):
        self.data = bytes(data)
        self.pos = pos

    def remaining(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError("need %d bytes at %d, have %d" % (n, self.pos, self.remaining()))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def _unpack(self, fmt, n):
        return struct.unpack(fmt, self.take(n))[0]

    def i8(self):
        return self._unpack(">b", 1)

    def i16(self):
        return self._unpack(">h", 2)

    def i32(self):
        return self._unpack(">i", 4)

    def i64(self):
        return self._unpack(">q", 8)

    def u32(self):
        return self._unpack(">I", 4)

    def boolean(self):
        return self.take(1) != b"\x00"

    def uvarint(self):
        shift = 0
        value = 0
        for _ in range(10):
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
        raise DecodeError("varint too long")

    def varint(self):
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)


# ---------------------------------------------------------------------------------------------
# Message schemas.  A field is (name, type, versions, nullable_versions, default).
# Field types: int8 int16 int32 int64 bool string bytes records uuid, "[]int32" style primitive
# arrays, or a list of fields for an array of structs.  versions like "0+", "3-8", "none".


def F(name, ftype, versions="0+", nullable="none", default=None):
    return (name, ftype, versions, nullable, default)


def _in(versions, v):
    if versions == "none":
        return False
    if versions.endswith("+"):
        return v >= int(versions[:-1])
    if "-" in versions:
        lo, hi = versions.split("-")
        return int(lo) <= v <= int(hi)
    return v == int(versions)


_DEFAULTS = {"int8": 0, "int16": 0, "int32": 0, "int64": 0, "bool": False, "string": "",
             "bytes": b"", "records": None, "uuid": b"\x00" * 16}


class Message:
    """One request or response body: its fields and its first flexible version."""

    def __init__(self, name, flexible_from, fields):
        self.name = name
        self.flexible_from = flexible_from
        self.fields = fields

    def flexible(self, version):
        return self.flexible_from is not None and version >= self.flexible_from

    def encode(self, version, values):
        w = Writer()
        _encode_struct(w, self.fields, values or {}, version, self.flexible(version))
        return w.build()

    def decode(self, version, data):
        r = Reader(data) if not isinstance(data, Reader) else data
        out = _decode_struct(r, self.fields, version, self.flexible(version))
        return out


def _encode_value(w, ftype, value, version, flexible, nullable):
    if isinstance(ftype, list) or (isinstance(ftype, str) and ftype.startswith("[]")):
        if value is None:
            assert nullable, "null array for non-nullable field"
            if flexible:
                w.uvarint(0)
            else:
                w.i32(-1)
            return
        if flexible:
            w.uvarint(len(value) + 1)
        else:
            w.i32(len(value))
        for item in value:
            if isinstance(ftype, list):
                _encode_struct(w, ftype, item, version, flexible)
            else:
                _encode_value(w, ftype[2:], item, version, flexible, False)
        return
    if ftype == "int8":
        w.i8(value)
    elif ftype == "int16":
        w.i16(value)
    elif ftype == "int32":
        w.i32(value)
    elif ftype == "int64":
        w.i64(value)
    elif ftype == "bool":
        w.boolean(value)
    elif ftype == "uuid":
        assert len(value) == 16
        w.raw(value)
    elif ftype == "string":
        if value is None:
            assert nullable, "null string for non-nullable field"
            if flexible:
                w.uvarint(0)
            else:
                w.i16(-1)
            return
        b = value.encode() if isinstance(value, str) else bytes(value)
        if flexible:
            w.uvarint(len(b) + 1)
        else:
            w.i16(len(b))
        w.raw(b)
    elif ftype in ("bytes", "records"):
        if value is None:
            assert nullable, "null bytes for non-nullable field"
            if flexible:
                w.uvarint(0)
            else:
                w.i32(-1)
            return
        if flexible:
            w.uvarint(len(value) + 1)
        else:
            w.i32(len(value))
        w.raw(value)
    else:
        raise ValueError("unknown type %r" % (ftype,))


def _encode_struct(w, fields, values, version, flexible):
    for name, ftype, versions, nullable, default in fields:
        if not _in(versions, version):
            continue
        if name in values:
            value = values[name]
        elif default is not None:
            value = default
        elif isinstance(ftype, list) or ftype.startswith("[]"):
            value = []
        else:
            value = _DEFAULTS[ftype]
        _encode_value(w, ftype, value, version, flexible, _in(nullable, version))
    if flexible:
        w.uvarint(0)  # No tagged fields.


def _decode_value(r, ftype, version, flexible, nullable):
    if isinstance(ftype, list) or (isinstance(ftype, str) and ftype.startswith("[]")):
        if flexible:
            n = r.uvarint() - 1
        else:
            n = r.i32()
        if n < 0:
            return None
        if n > r.remaining():
            raise DecodeError("array count %d exceeds remaining %d" % (n, r.remaining()))
        out = []
        for _ in range(n):
            if isinstance(ftype, list):
                out.append(_decode_struct(r, ftype, version, flexible))
            else:
                out.append(_decode_value(r, ftype[2:], version, flexible, False))
        return out
    if ftype == "int8":
        return r.i8()
    if ftype == "int16":
        return r.i16()
    if ftype == "int32":
        return r.i32()
    if ftype == "int64":
        return r.i64()
    if ftype == "bool":
        return r.boolean()
    if ftype == "uuid":
        return r.take(16)
    if ftype == "string":
        n = (r.uvarint() - 1) if flexible else r.i16()
        if n < 0:
            return None
        return r.take(n).decode("utf-8", "replace")
    if ftype in ("bytes", "records"):
        n = (r.uvarint() - 1) if flexible else r.i32()
        if n < 0:
            return None
        return r.take(n)
    raise ValueError("unknown type %r" % (ftype,))


def skip_tagged_fields(r):
    tags = {}
    for _ in range(r.uvarint()):
        tag = r.uvarint()
        size = r.uvarint()
        tags[tag] = r.take(size)
    return tags


def _decode_struct(r, fields, version, flexible):
    out = {}
    for name, ftype, versions, nullable, default in fields:
        if not _in(versions, version):
            continue
        out[name] = _decode_value(r, ftype, version, flexible, _in(nullable, version))
    if flexible:
        out["_tags"] = skip_tagged_fields(r)
    return out


# ApiVersions (key 18).
API_VERSIONS_REQ = Message("ApiVersionsRequest", 3, [
    F("client_software_name", "string", "3+"),
    F("client_software_version", "string", "3+"),
])
API_VERSIONS_RESP = Message("ApiVersionsResponse", 3, [
    F("error_code", "int16"),
    F("api_keys", [F("api_key", "int16"), F("min_version", "int16"), F("max_version", "int16")]),
    F("throttle_time_ms", "int32", "1+"),
])

# Metadata (key 3).
METADATA_REQ = Message("MetadataRequest", 9, [
    F("topics", [F("topic_id", "uuid", "10+"), F("name", "string", "0+", "10+")], "0+", "1+"),
    F("allow_auto_topic_creation", "bool", "4+", default=True),
    F("include_cluster_authorized_operations", "bool", "8-10"),
    F("include_topic_authorized_operations", "bool", "8+"),
])
METADATA_RESP = Message("MetadataResponse", 9, [
    F("throttle_time_ms", "int32", "3+"),
    F("brokers", [F("node_id", "int32"), F("host", "string"), F("port", "int32"),
                  F("rack", "string", "1+", "1+")]),
    F("cluster_id", "string", "2+", "2+"),
    F("controller_id", "int32", "1+"),
    F("topics", [
        F("error_code", "int16"),
        F("name", "string", "0+", "12+"),
        F("topic_id", "uuid", "10+"),
        F("is_internal", "bool", "1+"),
        F("partitions", [
            F("error_code", "int16"),
            F("partition_index", "int32"),
            F("leader_id", "int32"),
            F("leader_epoch", "int32", "7+"),
            F("replica_nodes", "[]int32"),
            F("isr_nodes", "[]int32"),
            F("offline_replicas", "[]int32", "5+"),
        ]),
        F("topic_authorized_operations", "int32", "8+"),
    ]),
    F("cluster_authorized_operations", "int32", "8-10"),
])

# Produce (key 0).
PRODUCE_REQ = Message("ProduceRequest", 9, [
    F("transactional_id", "string", "3+", "3+"),
    F("acks", "int16"),
    F("timeout_ms", "int32"),
    F("topic_data", [
        F("name", "string"),
        F("partition_data", [F("index", "int32"), F("records", "records", "0+", "0+")]),
    ]),
])
PRODUCE_RESP = Message("ProduceResponse", 9, [
    F("responses", [
        F("name", "string"),
        F("partition_responses", [
            F("index", "int32"),
            F("error_code", "int16"),
            F("base_offset", "int64"),
            F("log_append_time_ms", "int64", "2+"),
            F("log_start_offset", "int64", "5+"),
            F("record_errors", [F("batch_index", "int32"),
                                F("batch_index_error_message", "string", "8+", "8+")], "8+"),
            F("error_message", "string", "8+", "8+"),
        ]),
    ]),
    F("throttle_time_ms", "int32", "1+"),
])

# Fetch (key 1).
FETCH_REQ = Message("FetchRequest", 12, [
    F("replica_id", "int32", "0-14", default=-1),
    F("max_wait_ms", "int32"),
    F("min_bytes", "int32"),
    F("max_bytes", "int32", "3+", default=0x7FFFFFFF),
    F("isolation_level", "int8", "4+"),
    F("session_id", "int32", "7+"),
    F("session_epoch", "int32", "7+", default=-1),
    F("topics", [
        F("topic", "string", "0-12"),
        F("topic_id", "uuid", "13+"),
        F("partitions", [
            F("partition", "int32"),
            F("current_leader_epoch", "int32", "9+", default=-1),
            F("fetch_offset", "int64"),
            F("last_fetched_epoch", "int32", "12+", default=-1),
            F("log_start_offset", "int64", "5+", default=-1),
            F("partition_max_bytes", "int32"),
        ]),
    ]),
    F("forgotten_topics_data", [F("topic", "string", "7-12"), F("topic_id", "uuid", "13+"),
                                F("partitions", "[]int32")], "7+"),
    F("rack_id", "string", "11+"),
])
FETCH_RESP = Message("FetchResponse", 12, [
    F("throttle_time_ms", "int32", "1+"),
    F("error_code", "int16", "7+"),
    F("session_id", "int32", "7+"),
    F("responses", [
        F("topic", "string", "0-12"),
        F("topic_id", "uuid", "13+"),
        F("partitions", [
            F("partition_index", "int32"),
            F("error_code", "int16"),
            F("high_watermark", "int64"),
            F("last_stable_offset", "int64", "4+"),
            F("log_start_offset", "int64", "5+"),
            F("aborted_transactions", [F("producer_id", "int64"), F("first_offset", "int64")],
              "4+", "4+"),
            F("preferred_read_replica", "int32", "11+"),
            F("records", "records", "0+", "0+"),
        ]),
    ]),
])

# ListOffsets (key 2).
LIST_OFFSETS_REQ = Message("ListOffsetsRequest", 6, [
    F("replica_id", "int32", default=-1),
    F("isolation_level", "int8", "2+"),
    F("topics", [
        F("name", "string"),
        F("partitions", [
            F("partition_index", "int32"),
            F("current_leader_epoch", "int32", "4+", default=-1),
            F("timestamp", "int64"),
            F("max_num_offsets", "int32", "0", default=1),
        ]),
    ]),
])
LIST_OFFSETS_RESP = Message("ListOffsetsResponse", 6, [
    F("throttle_time_ms", "int32", "2+"),
    F("topics", [
        F("name", "string"),
        F("partitions", [
            F("partition_index", "int32"),
            F("error_code", "int16"),
            F("old_style_offsets", "[]int64", "0"),
            F("timestamp", "int64", "1+"),
            F("offset", "int64", "1+"),
            F("leader_epoch", "int32", "4+"),
        ]),
    ]),
])

# CreateTopics (key 19).
CREATE_TOPICS_REQ = Message("CreateTopicsRequest", 5, [
    F("topics", [
        F("name", "string"),
        F("num_partitions", "int32"),
        F("replication_factor", "int16"),
        F("assignments", [F("partition_index", "int32"), F("broker_ids", "[]int32")]),
        F("configs", [F("name", "string"), F("value", "string", "0+", "0+")]),
    ]),
    F("timeout_ms", "int32", default=30000),
    F("validate_only", "bool", "1+"),
])
CREATE_TOPICS_RESP = Message("CreateTopicsResponse", 5, [
    F("throttle_time_ms", "int32", "2+"),
    F("topics", [
        F("name", "string"),
        F("topic_id", "uuid", "7+"),
        F("error_code", "int16"),
        F("error_message", "string", "1+", "1+"),
        F("num_partitions", "int32", "5+"),
        F("replication_factor", "int16", "5+"),
        F("configs", [F("name", "string"), F("value", "string", "0+", "0+"), F("read_only", "bool"),
                      F("config_source", "int8"), F("is_sensitive", "bool")], "5+", "5+"),
    ]),
])

# InitProducerId (key 22).
INIT_PRODUCER_ID_REQ = Message("InitProducerIdRequest", 2, [
    F("transactional_id", "string", "0+", "0+"),
    F("transaction_timeout_ms", "int32", default=60000),
    F("producer_id", "int64", "3+", default=-1),
    F("producer_epoch", "int16", "3+", default=-1),
])
INIT_PRODUCER_ID_RESP = Message("InitProducerIdResponse", 2, [
    F("throttle_time_ms", "int32"),
    F("error_code", "int16"),
    F("producer_id", "int64"),
    F("producer_epoch", "int16"),
])

# ---------------------------------------------------------------------------------------------
# Consumer group APIs (classic protocol), from Kafka's JSON message definitions.

# FindCoordinator (key 10).
FIND_COORDINATOR_REQ = Message("FindCoordinatorRequest", 3, [
    F("key", "string", "0-3"),
    F("key_type", "int8", "1+"),
    F("coordinator_keys", "[]string", "4+"),
])
FIND_COORDINATOR_RESP = Message("FindCoordinatorResponse", 3, [
    F("throttle_time_ms", "int32", "1+"),
    F("error_code", "int16", "0-3"),
    F("error_message", "string", "1-3", "1-3"),
    F("node_id", "int32", "0-3"),
    F("host", "string", "0-3"),
    F("port", "int32", "0-3"),
    F("coordinators", [F("key", "string"), F("node_id", "int32"), F("host", "string"),
                       F("port", "int32"), F("error_code", "int16"),
                       F("error_message", "string", "0+", "0+")], "4+"),
])

# JoinGroup (key 11).
JOIN_GROUP_REQ = Message("JoinGroupRequest", 6, [
    F("group_id", "string"),
    F("session_timeout_ms", "int32"),
    F("rebalance_timeout_ms", "int32", "1+", default=-1),
    F("member_id", "string"),
    F("group_instance_id", "string", "5+", "5+"),
    F("protocol_type", "string"),
    F("protocols", [F("name", "string"), F("metadata", "bytes")]),
    F("reason", "string", "8+", "8+"),
])
JOIN_GROUP_RESP = Message("JoinGroupResponse", 6, [
    F("throttle_time_ms", "int32", "2+"),
    F("error_code", "int16"),
    F("generation_id", "int32"),
    F("protocol_type", "string", "7+", "7+"),
    F("protocol_name", "string", "0+", "7+"),
    F("leader", "string"),
    F("skip_assignment", "bool", "9+"),
    F("member_id", "string"),
    F("members", [F("member_id", "string"), F("group_instance_id", "string", "5+", "5+"),
                  F("metadata", "bytes")]),
])

# Heartbeat (key 12).
HEARTBEAT_REQ = Message("HeartbeatRequest", 4, [
    F("group_id", "string"),
    F("generation_id", "int32"),
    F("member_id", "string"),
    F("group_instance_id", "string", "3+", "3+"),
])
HEARTBEAT_RESP = Message("HeartbeatResponse", 4, [
    F("throttle_time_ms", "int32", "1+"),
    F("error_code", "int16"),
])

# LeaveGroup (key 13).
LEAVE_GROUP_REQ = Message("LeaveGroupRequest", 4, [
    F("group_id", "string"),
    F("member_id", "string", "0-2"),
    F("members", [F("member_id", "string"), F("group_instance_id", "string", "0+", "0+"),
                  F("reason", "string", "5+", "5+")], "3+"),
])
LEAVE_GROUP_RESP = Message("LeaveGroupResponse", 4, [
    F("throttle_time_ms", "int32", "1+"),
    F("error_code", "int16"),
    F("members", [F("member_id", "string"), F("group_instance_id", "string", "0+", "0+"),
                  F("error_code", "int16")], "3+"),
])

# SyncGroup (key 14).
SYNC_GROUP_REQ = Message("SyncGroupRequest", 4, [
    F("group_id", "string"),
    F("generation_id", "int32"),
    F("member_id", "string"),
    F("group_instance_id", "string", "3+", "3+"),
    F("protocol_type", "string", "5+", "5+"),
    F("protocol_name", "string", "5+", "5+"),
    F("assignments", [F("member_id", "string"), F("assignment", "bytes")]),
])
SYNC_GROUP_RESP = Message("SyncGroupResponse", 4, [
    F("throttle_time_ms", "int32", "1+"),
    F("error_code", "int16"),
    F("protocol_type", "string", "5+", "5+"),
    F("protocol_name", "string", "5+", "5+"),
    F("assignment", "bytes"),
])

# OffsetCommit (key 8).
OFFSET_COMMIT_REQ = Message("OffsetCommitRequest", 8, [
    F("group_id", "string"),
    F("generation_id", "int32", "1+", default=-1),
    F("member_id", "string", "1+"),
    F("group_instance_id", "string", "7+", "7+"),
    F("retention_time_ms", "int64", "2-4", default=-1),
    F("topics", [
        F("name", "string"),
        F("partitions", [
            F("partition_index", "int32"),
            F("committed_offset", "int64"),
            F("committed_leader_epoch", "int32", "6+", default=-1),
            F("commit_timestamp", "int64", "1", default=-1),
            F("committed_metadata", "string", "0+", "0+"),
        ]),
    ]),
])
OFFSET_COMMIT_RESP = Message("OffsetCommitResponse", 8, [
    F("throttle_time_ms", "int32", "3+"),
    F("topics", [
        F("name", "string"),
        F("partitions", [F("partition_index", "int32"), F("error_code", "int16")]),
    ]),
])

# OffsetFetch (key 9).
_OFFSET_FETCH_PARTITION = [
    F("partition_index", "int32"),
    F("committed_offset", "int64"),
    F("committed_leader_epoch", "int32", "5+"),
    F("metadata", "string", "0+", "0+"),
    F("error_code", "int16"),
]
OFFSET_FETCH_REQ = Message("OffsetFetchRequest", 6, [
    F("group_id", "string", "0-7"),
    F("topics", [F("name", "string"), F("partition_indexes", "[]int32")], "0-7", "2-7"),
    F("groups", [F("group_id", "string"),
                 F("topics", [F("name", "string"), F("partition_indexes", "[]int32")],
                   "8+", "8+")], "8+"),
    F("require_stable", "bool", "7+"),
])
OFFSET_FETCH_RESP = Message("OffsetFetchResponse", 6, [
    F("throttle_time_ms", "int32", "3+"),
    F("topics", [F("name", "string"), F("partitions", _OFFSET_FETCH_PARTITION)], "0-7"),
    F("error_code", "int16", "2-7"),
    F("groups", [F("group_id", "string"),
                 F("topics", [F("name", "string"), F("partitions", _OFFSET_FETCH_PARTITION)]),
                 F("error_code", "int16")], "8+"),
])

# DescribeGroups (key 15).
DESCRIBE_GROUPS_REQ = Message("DescribeGroupsRequest", 5, [
    F("groups", "[]string"),
    F("include_authorized_operations", "bool", "3+"),
])
DESCRIBE_GROUPS_RESP = Message("DescribeGroupsResponse", 5, [
    F("throttle_time_ms", "int32", "1+"),
    F("groups", [
        F("error_code", "int16"),
        F("group_id", "string"),
        F("group_state", "string"),
        F("protocol_type", "string"),
        F("protocol_data", "string"),
        F("members", [F("member_id", "string"), F("group_instance_id", "string", "4+", "4+"),
                      F("client_id", "string"), F("client_host", "string"),
                      F("member_metadata", "bytes"), F("member_assignment", "bytes")]),
        F("authorized_operations", "int32", "3+"),
    ]),
])

# ListGroups (key 16).
LIST_GROUPS_REQ = Message("ListGroupsRequest", 3, [
    F("states_filter", "[]string", "4+"),
])
LIST_GROUPS_RESP = Message("ListGroupsResponse", 3, [
    F("throttle_time_ms", "int32", "1+"),
    F("error_code", "int16"),
    F("groups", [F("group_id", "string"), F("protocol_type", "string"),
                 F("group_state", "string", "4+")]),
])

# DeleteGroups (key 42).
DELETE_GROUPS_REQ = Message("DeleteGroupsRequest", 2, [
    F("groups_names", "[]string"),
])
DELETE_GROUPS_RESP = Message("DeleteGroupsResponse", 2, [
    F("throttle_time_ms", "int32"),
    F("results", [F("group_id", "string"), F("error_code", "int16")]),
])

# OffsetDelete (key 47).
OFFSET_DELETE_REQ = Message("OffsetDeleteRequest", None, [
    F("group_id", "string"),
    F("topics", [F("name", "string"), F("partitions", [F("partition_index", "int32")])]),
])
OFFSET_DELETE_RESP = Message("OffsetDeleteResponse", None, [
    F("error_code", "int16"),
    F("throttle_time_ms", "int32"),
    F("topics", [F("name", "string"),
                 F("partitions", [F("partition_index", "int32"), F("error_code", "int16")])]),
])


def consumer_subscription(topics, user_data=None, version=0):
    """ConsumerProtocolSubscription (JoinGroup protocol metadata for protocol type "consumer")."""
    w = Writer().i16(version).i32(len(topics))
    for t in topics:
        b = t.encode()
        w.i16(len(b)).raw(b)
    if user_data is None:
        w.i32(-1)
    else:
        w.i32(len(user_data)).raw(user_data)
    return w.build()


def parse_consumer_subscription(data):
    r = Reader(data)
    version = r.i16()
    topics = [_decode_value(r, "string", 0, False, False) for _ in range(r.i32())]
    return {"version": version, "topics": topics}


def consumer_assignment(partitions_by_topic, user_data=None, version=0):
    """ConsumerProtocolAssignment (SyncGroup assignment bytes): {topic: [partitions]}."""
    w = Writer().i16(version).i32(len(partitions_by_topic))
    for t, parts in sorted(partitions_by_topic.items()):
        b = t.encode()
        w.i16(len(b)).raw(b)
        w.i32(len(parts))
        for p in parts:
            w.i32(p)
    if user_data is None:
        w.i32(-1)
    else:
        w.i32(len(user_data)).raw(user_data)
    return w.build()


def parse_consumer_assignment(data):
    """{topic: [partitions]} from ConsumerProtocolAssignment bytes (empty bytes -> {})."""
    if not data:
        return {}
    r = Reader(data)
    r.i16()
    out = {}
    for _ in range(r.i32()):
        t = _decode_value(r, "string", 0, False, False)
        out[t] = [r.i32() for _ in range(r.i32())]
    return out

# DescribeConfigs (key 32).
DESCRIBE_CONFIGS_REQ = Message("DescribeConfigsRequest", 4, [
    F("resources", [F("resource_type", "int8"), F("resource_name", "string"),
                    F("configuration_keys", "[]string", "0+", "0+")]),
    F("include_synonyms", "bool", "1+"),
    F("include_documentation", "bool", "3+"),
])
DESCRIBE_CONFIGS_RESP = Message("DescribeConfigsResponse", 4, [
    F("throttle_time_ms", "int32"),
    F("results", [
        F("error_code", "int16"), F("error_message", "string", "0+", "0+"),
        F("resource_type", "int8"), F("resource_name", "string"),
        F("configs", [
            F("name", "string"), F("value", "string", "0+", "0+"), F("read_only", "bool"),
            F("is_default", "bool", "0"), F("config_source", "int8", "1+"), F("is_sensitive", "bool"),
            F("synonyms", [F("name", "string"), F("value", "string", "1+", "1+"), F("source", "int8")], "1+"),
            F("config_type", "int8", "3+"), F("documentation", "string", "3+", "3+"),
        ]),
    ]),
])

# IncrementalAlterConfigs (key 44).
INCREMENTAL_ALTER_CONFIGS_REQ = Message("IncrementalAlterConfigsRequest", 1, [
    F("resources", [F("resource_type", "int8"), F("resource_name", "string"),
                    F("configs", [F("name", "string"), F("config_operation", "int8"),
                                  F("value", "string", "0+", "0+")])]),
    F("validate_only", "bool"),
])
INCREMENTAL_ALTER_CONFIGS_RESP = Message("IncrementalAlterConfigsResponse", 1, [
    F("throttle_time_ms", "int32"),
    F("responses", [F("error_code", "int16"), F("error_message", "string", "0+", "0+"),
                    F("resource_type", "int8"), F("resource_name", "string")]),
])

# DeleteRecords (key 21).
DELETE_RECORDS_REQ = Message("DeleteRecordsRequest", 2, [
    F("topics", [F("name", "string"), F("partitions", [F("partition_index", "int32"), F("offset", "int64")])]),
    F("timeout_ms", "int32", default=30000),
])
DELETE_RECORDS_RESP = Message("DeleteRecordsResponse", 2, [
    F("throttle_time_ms", "int32"),
    F("topics", [F("name", "string"), F("partitions", [F("partition_index", "int32"), F("low_watermark", "int64"),
                                                     F("error_code", "int16")])]),
])

# DescribeLogDirs (key 35).
DESCRIBE_LOG_DIRS_REQ = Message("DescribeLogDirsRequest", 2, [
    F("topics", [F("topic", "string"), F("partitions", "[]int32")], "0+", "0+"),
])
DESCRIBE_LOG_DIRS_RESP = Message("DescribeLogDirsResponse", 2, [
    F("throttle_time_ms", "int32"),
    F("error_code", "int16", "3+"),
    F("results", [
        F("error_code", "int16"), F("log_dir", "string"),
        F("topics", [F("name", "string"), F("partitions", [F("partition_index", "int32"),
                                                         F("partition_size", "int64"), F("offset_lag", "int64"),
                                                         F("is_future_key", "bool")])]),
        F("total_bytes", "int64", "4+"), F("usable_bytes", "int64", "4+"),
    ]),
])

SCHEMAS = {
    INIT_PRODUCER_ID: (INIT_PRODUCER_ID_REQ, INIT_PRODUCER_ID_RESP, range(0, 5)),
    PRODUCE: (PRODUCE_REQ, PRODUCE_RESP, range(0, 10)),
    FETCH: (FETCH_REQ, FETCH_RESP, range(0, 13)),
    LIST_OFFSETS: (LIST_OFFSETS_REQ, LIST_OFFSETS_RESP, range(0, 7)),
    METADATA: (METADATA_REQ, METADATA_RESP, range(0, 13)),
    API_VERSIONS: (API_VERSIONS_REQ, API_VERSIONS_RESP, range(0, 4)),
    CREATE_TOPICS: (CREATE_TOPICS_REQ, CREATE_TOPICS_RESP, range(0, 8)),
    FIND_COORDINATOR: (FIND_COORDINATOR_REQ, FIND_COORDINATOR_RESP, range(0, 5)),
    JOIN_GROUP: (JOIN_GROUP_REQ, JOIN_GROUP_RESP, range(0, 10)),
    HEARTBEAT: (HEARTBEAT_REQ, HEARTBEAT_RESP, range(0, 5)),
    LEAVE_GROUP: (LEAVE_GROUP_REQ, LEAVE_GROUP_RESP, range(0, 6)),
    SYNC_GROUP: (SYNC_GROUP_REQ, SYNC_GROUP_RESP, range(0, 6)),
    OFFSET_COMMIT: (OFFSET_COMMIT_REQ, OFFSET_COMMIT_RESP, range(0, 9)),
    OFFSET_FETCH: (OFFSET_FETCH_REQ, OFFSET_FETCH_RESP, range(0, 9)),
    DESCRIBE_GROUPS: (DESCRIBE_GROUPS_REQ, DESCRIBE_GROUPS_RESP, range(0, 6)),
    LIST_GROUPS: (LIST_GROUPS_REQ, LIST_GROUPS_RESP, range(0, 5)),
    DELETE_GROUPS: (DELETE_GROUPS_REQ, DELETE_GROUPS_RESP, range(0, 3)),
    OFFSET_DELETE: (OFFSET_DELETE_REQ, OFFSET_DELETE_RESP, range(0, 1)),
    DESCRIBE_CONFIGS: (DESCRIBE_CONFIGS_REQ, DESCRIBE_CONFIGS_RESP, range(0, 5)),
    INCREMENTAL_ALTER_CONFIGS: (INCREMENTAL_ALTER_CONFIGS_REQ, INCREMENTAL_ALTER_CONFIGS_RESP, range(0, 2)),
    DELETE_RECORDS: (DELETE_RECORDS_REQ, DELETE_RECORDS_RESP, range(0, 3)),
    DESCRIBE_LOG_DIRS: (DESCRIBE_LOG_DIRS_REQ, DESCRIBE_LOG_DIRS_RESP, range(0, 5)),
}

# ---------------------------------------------------------------------------------------------
# Record batch v2.

CODEC_NONE, CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD = 0, 1, 2, 3, 4
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
BATCH_HEADER_BYTES = 61


def compress(codec, payload):
    if codec == CODEC_NONE:
        return payload
    if codec == CODEC_GZIP:
        import gzip
        return gzip.compress(payload)
    if codec == CODEC_SNAPPY:
        from kafka.codec import snappy_encode
        return snappy_encode(payload, xerial_compatible=True)
    if codec == CODEC_LZ4:
        import lz4.frame
        return lz4.frame.compress(payload)
    if codec == CODEC_ZSTD:
        import zstandard
        return zstandard.ZstdCompressor().compress(payload)
    raise ValueError(codec)


def decompress(codec, payload):
    if codec == CODEC_NONE:
        return payload
    if codec == CODEC_GZIP:
        import gzip
        return gzip.decompress(payload)
    if codec == CODEC_SNAPPY:
        from kafka.codec import snappy_decode
        return snappy_decode(payload)
    if codec == CODEC_LZ4:
        import lz4.frame
        return lz4.frame.decompress(payload)
    if codec == CODEC_ZSTD:
        import zstandard
        return zstandard.ZstdDecompressor().decompressobj().decompress(payload)
    raise ValueError(codec)


class Record:
    def __init__(self, value, key=None, headers=(), timestamp=None):
        self.key = key
        self.value = value
        self.headers = list(headers)
        self.timestamp = timestamp

    def __repr__(self):
        return "Record(key=%r, value=%r, headers=%r, ts=%r)" % (
            self.key, self.value[:40] if self.value else self.value, self.headers, self.timestamp)


def _varbytes(w, b):
    if b is None:
        w.varint(-1)
    else:
        w.varint(len(b))
        w.raw(b)


def encode_record(offset_delta, timestamp_delta, key, value, headers):
    body = Writer()
    body.i8(0)  # attributes
    body.varint(timestamp_delta)
    body.varint(offset_delta)
    _varbytes(body, key)
    _varbytes(body, value)
    body.varint(len(headers))
    for hk, hv in headers:
        hk = hk.encode() if isinstance(hk, str) else hk
        _varbytes(body, hk)
        _varbytes(body, hv)
    b = body.build()
    return Writer().varint(len(b)).raw(b).build()


def build_batch(records, codec=CODEC_NONE, base_offset=0, producer_id=-1, producer_epoch=-1,
                base_sequence=-1, magic=2, corrupt_crc=False, attributes_extra=0,
                leader_epoch=-1, timestamp_type=0):
    """Returns the bytes of one RecordBatch v2 holding `records` (list of Record)."""
    assert records
    now = int(time.time() * 1000)
    timestamps = [r.timestamp if r.timestamp is not None else now for r in records]
    base_ts = min(timestamps)
    max_ts = max(timestamps)
    payload = b"".join(
        encode_record(i, timestamps[i] - base_ts, r.key, r.value, r.headers)
        for i, r in enumerate(records))
    payload = compress(codec, payload)
    attributes = (codec & 7) | (timestamp_type << 3) | attributes_extra
    after_crc = Writer()
    after_crc.i16(attributes)
    after_crc.i32(len(records) - 1)  # last offset delta
    after_crc.i64(base_ts)
    after_crc.i64(max_ts)
    after_crc.i64(producer_id)
    after_crc.i16(producer_epoch)
    after_crc.i32(base_sequence)
    after_crc.i32(len(records))
    after_crc.raw(payload)
    tail = after_crc.build()
    crc = crc32c(tail)
    if corrupt_crc:
        crc ^= 0xDEADBEEF
    body = Writer().i32(leader_epoch).i8(magic).u32(crc).raw(tail).build()
    return Writer().i64(base_offset).i32(len(body)).raw(body).build()


def build_legacy_message_set(value, key=None, magic=1, offset=0):
    """A one-message legacy (magic 0/1) message set, CRC-32 (zlib) as Kafka < 0.11 wrote."""
    import zlib
    w = Writer().i8(magic).i8(0)
    if magic == 1:
        w.i64(int(time.time() * 1000))
    for b in (key, value):
        if b is None:
            w.i32(-1)
        else:
            w.i32(len(b)).raw(b)
    rest = w.build()
    message = struct.pack(">I", zlib.crc32(rest) & 0xFFFFFFFF) + rest
    return Writer().i64(offset).i32(len(message)).raw(message).build()


class Batch:
    """A parsed RecordBatch v2 header, its raw bytes, and (lazily) its records."""

    def __init__(self, raw, position=None):
        self.raw = raw
        self.position = position
        r = Reader(raw)
        self.base_offset = r.i64()
        self.batch_length = r.i32()
        self.leader_epoch = r.i32()
        self.magic = r.i8()
        self.crc = r.u32()
        self.attributes = r.i16()
        self.last_offset_delta = r.i32()
        self.base_timestamp = r.i64()
        self.max_timestamp = r.i64()
        self.producer_id = r.i64()
        self.producer_epoch = r.i16()
        self.base_sequence = r.i32()
        self.record_count = r.i32()
        self.payload = raw[BATCH_HEADER_BYTES:]

    @property
    def codec(self):
        return self.attributes & 7

    @property
    def timestamp_type(self):
        return (self.attributes >> 3) & 1

    @property
    def is_control(self):
        return bool(self.attributes & 0x20)

    @property
    def last_offset(self):
        return self.base_offset + self.last_offset_delta

    def crc_ok(self):
        return crc32c(self.raw[21:]) == self.crc

    def records(self):
        """Returns [(offset, timestamp, key, value, headers)]."""
        data = decompress(self.codec, self.payload)
        r = Reader(data)
        out = []
        for _ in range(self.record_count):
            length = r.varint()
            end = r.pos + length
            r.i8()
            ts_delta = r.varint()
            offset_delta = r.varint()
            key = _read_varbytes(r)
            value = _read_varbytes(r)
            headers = []
            for _ in range(r.varint()):
                hk = _read_varbytes(r)
                hv = _read_varbytes(r)
                headers.append((hk.decode(), hv))
            if r.pos != end:
                raise DecodeError("record length mismatch")
            ts = self.max_timestamp if self.timestamp_type == 1 else self.base_timestamp + ts_delta
            out.append((self.base_offset + offset_delta, ts, key, value, headers))
        return out


def _read_varbytes(r):
    n = r.varint()
    if n < 0:
        return None
    return r.take(n)


def parse_batches(data, strict=False):
    """Splits a byte string of record batches.  A trailing partial batch is dropped (as clients
    do) unless strict, in which case it raises."""
    batches = []
    pos = 0
    data = bytes(data or b"")
    while pos + 12 <= len(data):
        length = struct.unpack_from(">i", data, pos + 8)[0]
        end = pos + 12 + length
        if length < BATCH_HEADER_BYTES - 12 or end > len(data):
            if strict:
                raise DecodeError("partial or bad batch at %d (length %d, have %d)" %
                                  (pos, length, len(data) - pos))
            break
        batches.append(Batch(data[pos:end], pos))
        pos = end
    if strict and pos != len(data):
        raise DecodeError("%d trailing bytes" % (len(data) - pos))
    return batches


def records_of(data):
    out = []
    for b in parse_batches(data):
        if b.is_control:
            continue
        out.extend(b.records())
    return out

# ---------------------------------------------------------------------------------------------
# Connection.


class ConnectionClosed(Exception):
    pass


class Client:
    """One TCP connection to a broker.  Every wait is bounded by `timeout` seconds."""

    def __init__(self, host, port, timeout=10.0, client_id="sluice-it"):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.client_id = client_id
        self.correlation_id = 0
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.versions = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Framing.

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, payload):
        self.send_raw(struct.pack(">i", len(payload)) + payload)

    def _recv_exact(self, n, deadline):
        chunks = []
        got = 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out waiting for %d bytes (got %d)" % (n, got))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(min(n - got, 1 << 20))
            except ConnectionResetError as e:
                raise ConnectionClosed("connection reset: %s" % e)
            if not chunk:
                raise ConnectionClosed("connection closed by broker after %d of %d bytes" % (got, n))
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def recv_frame(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        size = struct.unpack(">i", self._recv_exact(4, deadline))[0]
        if size < 4 or size > 1 << 30:
            raise DecodeError("bad response size %d" % size)
        return self._recv_exact(size, deadline)

    def wait_closed(self, timeout=10.0):
        """Returns True if the broker closes the connection within `timeout` (reading and
        discarding anything it sends), False if it is still open."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True

    # Requests.

    def header(self, api_key, version, correlation_id, flexible):
        w = Writer().i16(api_key).i16(version).i32(correlation_id)
        cid = self.client_id.encode() if self.client_id is not None else None
        if cid is None:
            w.i16(-1)
        else:
            w.i16(len(cid)).raw(cid)
        if flexible:
            w.uvarint(0)
        return w.build()

    def send_request(self, api_key, version, body, flexible=None):
        """Sends one request; returns its correlation id."""
        if flexible is None:
            req_schema = SCHEMAS[api_key][0]
            flexible = req_schema.flexible(version)
        self.correlation_id += 1
        cid = self.correlation_id
        self.send_frame(self.header(api_key, version, cid, flexible) + body)
        return cid

    def recv_response(self, api_key, version, correlation_id, timeout=None, raw=False):
        frame = self.recv_frame(timeout)
        r = Reader(frame)
        got = r.i32()
        if got != correlation_id:
            raise DecodeError("correlation id %d, expected %d" % (got, correlation_id))
        resp_schema = SCHEMAS[api_key][1]
        # ApiVersions responses always use response header v0.
        if api_key != API_VERSIONS and resp_schema.flexible(version):
            skip_tagged_fields(r)
        if raw:
            return r
        out = resp_schema.decode(version, r)
        if r.remaining():
            raise DecodeError("%d bytes left after decoding %s v%d" %
                              (r.remaining(), resp_schema.name, version))
        return out

    def call(self, api_key, version, values=None, timeout=None):
        req_schema = SCHEMAS[api_key][0]
        cid = self.send_request(api_key, version, req_schema.encode(version, values or {}))
        return self.recv_response(api_key, version, cid, timeout)

    # Versions.

    def api_versions(self, version=0):
        values = {"client_software_name": "sluice-it", "client_software_version": "1.0"}
        cid = self.send_request(API_VERSIONS, version,
                                API_VERSIONS_REQ.encode(version, values) if version <= 3 else b"")
        frame = self.recv_frame()
        r = Reader(frame)
        got = r.i32()
        if got != cid:
            raise DecodeError("correlation id %d, expected %d" % (got, cid))
        error = struct.unpack_from(">h", frame, 4)[0]
        decode_version = version if (error == NONE and version <= 3) else 0
        out = API_VERSIONS_RESP.decode(decode_version, r)
        out["_decoded_as"] = decode_version
        if error == NONE:
            self.versions = {k["api_key"]: (k["min_version"], k["max_version"])
                             for k in out["api_keys"]}
        return out

    def pick(self, api_key, lo=0, hi=None):
        """Highest version we can encode that the broker advertises, within [lo, hi]."""
        if self.versions is None:
            self.api_versions(0)
        if api_key not in self.versions:
            raise AssertionError("broker does not advertise api key %d" % api_key)
        bmin, bmax = self.versions[api_key]
        ours = SCHEMAS[api_key][2]
        top = min(bmax, ours[-1], hi if hi is not None else 1 << 15)
        bottom = max(bmin, ours[0], lo)
        if top < bottom:
            raise AssertionError("no common version for api key %d: broker %d-%d, wanted %d-%s"
                                 % (api_key, bmin, bmax, lo, hi))
        return top

    # Convenience wrappers.

    def metadata(self, topics=None, auto_create=True, version=None):
        v = self.pick(METADATA, 1) if version is None else version
        t = None if topics is None else [{"name": n} for n in topics]
        return self.call(METADATA, v, {"topics": t, "allow_auto_topic_creation": auto_create}), v

    def create_topics(self, topics, timeout_ms=10000, version=None):
        """topics: list of (name, partitions, configs dict)."""
        v = self.pick(CREATE_TOPICS) if version is None else version
        values = {"topics": [
            {"name": n, "num_partitions": p, "replication_factor": 1, "assignments": [],
             "configs": [{"name": k, "value": val} for k, val in (c or {}).items()]}
            for n, p, c in topics], "timeout_ms": timeout_ms}
        return self.call(CREATE_TOPICS, v, values)

    def produce(self, topic, partition, batch, acks=-1, version=None, timeout_ms=10000,
                batches_by_partition=None):
        v = self.pick(PRODUCE, 3) if version is None else version
        parts = batches_by_partition or {partition: batch}
        values = {"transactional_id": None, "acks": acks, "timeout_ms": timeout_ms,
                  "topic_data": [{"name": topic, "partition_data": [
                      {"index": p, "records": b} for p, b in parts.items()]}]}
        body = PRODUCE_REQ.encode(v, values)
        cid = self.send_request(PRODUCE, v, body)
        if acks == 0:
            return None
        return self.recv_response(PRODUCE, v, cid)

    def produce_one(self, topic, partition, batch, acks=-1, version=None):
        """Returns the single partition response dict."""
        resp = self.produce(topic, partition, batch, acks=acks, version=version)
        (t,) = resp["responses"]
        (p,) = t["partition_responses"]
        return p

    def fetch(self, topic, partition, offset, max_wait_ms=0, min_bytes=1, partition_max_bytes=1 << 20,
              max_bytes=50 << 20, version=None, timeout=None, partitions=None):
        v = self.pick(FETCH, 4, 11) if version is None else version
        parts = partitions or [(partition, offset)]
        values = {"replica_id": -1, "max_wait_ms": max_wait_ms, "min_bytes": min_bytes,
                  "max_bytes": max_bytes, "isolation_level": 0,
                  "topics": [{"topic": topic, "partitions": [
                      {"partition": p, "fetch_offset": o, "partition_max_bytes": partition_max_bytes}
                      for p, o in parts]}]}
        cid = self.send_request(FETCH, v, FETCH_REQ.encode(v, values))
        return self.recv_response(FETCH, v, cid, timeout=timeout)

    def fetch_partition(self, *args, **kwargs):
        resp = self.fetch(*args, **kwargs)
        (t,) = resp["responses"]
        (p,) = t["partitions"]
        return p

    def init_producer_id(self, version=None):
        v = self.pick(INIT_PRODUCER_ID) if version is None else version
        return self.call(INIT_PRODUCER_ID, v, {"transactional_id": None})

    def list_offsets(self, topic, partition, timestamp, version=None):
        v = self.pick(LIST_OFFSETS, 1, 5) if version is None else version
        values = {"replica_id": -1, "topics": [{"name": topic, "partitions": [
            {"partition_index": partition, "timestamp": timestamp}]}]}
        resp = self.call(LIST_OFFSETS, v, values)
        (t,) = resp["topics"]
        (p,) = t["partitions"]
        return p


def read_all(client, topic, partition, start=0, end=None, rounds=200):
    """Fetches [start, end) (end defaults to the high watermark) with bounded rounds; returns
    the records as (offset, ts, key, value, headers)."""
    out = []
    offset = start
    for _ in range(rounds):
        p = client.fetch_partition(topic, partition, offset)
        if p["error_code"] != NONE:
            raise AssertionError("fetch %s-%d@%d: error %d" % (topic, partition, offset,
                                                             p["error_code"]))
        hw = p["high_watermark"] if end is None else end
        for rec in records_of(p["records"]):
            if offset <= rec[0] < hw:
                out.append(rec)
                offset = rec[0] + 1
        if offset >= hw:
            return out
    raise AssertionError("read_all: no progress to %s after %d rounds (at %d)" % (end, rounds, offset))
