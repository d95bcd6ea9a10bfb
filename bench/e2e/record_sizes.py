"""Byte sizes of Kafka record batches as sluice-perf builds them, for the raw baselines that write
what the broker writes (run.py)."""

RECORD_BATCH_HEADER_BYTES = 61


def varint_bytes(value):
    zigzag = (value << 1) ^ (value >> 63)
    count = 1
    while zigzag >= 0x80:
        zigzag >>= 7
        count += 1
    return count


def batch_bytes(value_bytes, records=1):
    """A v2 batch of `records` records, null keys, no headers, timestamp deltas 0: one record is
    what one durable produce appends."""
    total = RECORD_BATCH_HEADER_BYTES
    for i in range(records):
        body = 1 + varint_bytes(0) + varint_bytes(i) + varint_bytes(-1) + varint_bytes(value_bytes) + value_bytes + varint_bytes(0)
        total += varint_bytes(body) + body
    return total


# sluice-perf's default --batch-bytes, which the produce phases keep: a 1 KiB produce batch holds
# 128 records.
PERF_BATCH_TARGET_BYTES = 128 * 1024
