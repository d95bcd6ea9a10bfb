// Records inside a RecordBatch v2, for the broker's own writes (the __consumer_offsets topic) and
// reads (loading it back). Client batches are never rebuilt: they are stored verbatim.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace sluice::protocol {

struct RecordView {
  std::int32_t offset_delta = 0;
  std::int64_t timestamp_delta = 0;
  std::optional<std::span<const std::byte>> key;    // nullopt: null key
  std::optional<std::span<const std::byte>> value;  // nullopt: null value (a tombstone)
};

struct RecordToWrite {
  std::vector<std::byte> key;
  std::optional<std::vector<std::byte>> value;
};

// An uncompressed batch (base offset 0, CreateTime timestamps = timestamp_ms, no producer id)
// with a valid CRC. Requires: records is not empty.
std::vector<std::byte> build_record_batch(const std::vector<RecordToWrite>& records, std::int64_t timestamp_ms);

// Calls visit for each record of a record area (the bytes after the 61-byte header, decompressed
// when the batch is compressed). Returns false when the records do not parse or do not end
// exactly at the end of the area.
bool parse_records(std::span<const std::byte> area, std::int32_t record_count,
                   const std::function<void(const RecordView&)>& visit);

}  // namespace sluice::protocol
