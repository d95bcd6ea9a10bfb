// libFuzzer target for the record batch parsers: validate_record_batches (the records of a
// produced partition), check_batch_on_disk (recovery reading a log back), and, on a batch that
// validated, what the broker later does with a stored batch: the in-place edits of the produce
// path, batch_record_area (decompressing) and the ListOffsets lookups.
//
// Input: byte 0 configures, the rest is the records field of one produced partition.
//   bits 0-1  the batch size limit: 1048588 (message.max.bytes), 64, 61 or 1 GiB
//   bit 2     patch batchLength to match the input, bit 3 patch the CRC to match (so the fuzzer
//             reaches the checks behind them without having to discover CRC-32C)
//   bits 4-7  a record count for parse_records over the raw bytes after the header
// Invariants on a batch that validates: the header it reports is the bytes' header; the batch is
// exactly the input; the CRC and recovery's check agree; the record count walks; the broker's
// in-place edits keep it valid.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/endian.h"
#include "fuzz_support.h"
#include "protocol/record_batch.h"
#include "protocol/records.h"

namespace sluice::fuzz {
namespace {

namespace f = record_batch_field;

constexpr std::size_t limit_choices[] = {1048588, 64, 61, std::size_t{1} << 30};
// Decompressing in the target stays small: the bound is what is under test, not the allocator.
constexpr std::size_t fuzz_decompressed_bytes_max = 1 << 20;

std::string describe_header(const RecordBatchHeader& h) {
  return std::to_string(h.base_offset) + "," + std::to_string(h.batch_length) + "," +
         std::to_string(h.partition_leader_epoch) + "," + std::to_string(h.magic) + "," + std::to_string(h.crc) +
         "," + std::to_string(h.attributes) + "," + std::to_string(h.last_offset_delta) + "," +
         std::to_string(h.base_timestamp) + "," + std::to_string(h.max_timestamp) + "," +
         std::to_string(h.producer_id) + "," + std::to_string(h.producer_epoch) + "," +
         std::to_string(h.base_sequence) + "," + std::to_string(h.record_count);
}

// The checks that a batch which validate_record_batches accepted must pass.
void check_valid_batch(std::vector<std::byte>& batch, const BatchesInfo& info, std::size_t limit) {
  const std::string where = "batch " + hex(batch);
  const RecordBatchHeader header = parse_record_batch_header(batch.data());
  FUZZ_CHECK(describe_header(info.header) == describe_header(header), where);
  FUZZ_CHECK(info.batch_bytes == batch.size(), where);
  FUZZ_CHECK(header.batch_bytes() == static_cast<std::int64_t>(batch.size()), where);
  FUZZ_CHECK(info.batch_bytes <= limit, where);
  FUZZ_CHECK(header.magic == 2, where);
  FUZZ_CHECK(info.compression == header.compression() && info.compression <= 4, where);
  FUZZ_CHECK(header.record_count >= 1 && header.last_offset_delta == header.record_count - 1, where);
  FUZZ_CHECK(compute_record_batch_crc(batch.data(), batch.size()) == header.crc, where);
  std::size_t disk_bytes = 0;
  FUZZ_CHECK(check_batch_on_disk(batch.data(), batch.size(), &disk_bytes) == ErrorCode::none, where);
  FUZZ_CHECK(disk_bytes == batch.size(), where);
  if (header.compression() == 0) {
    std::int32_t walked = 0;
    FUZZ_CHECK(walk_uncompressed_records(batch, [&](std::int32_t, std::int64_t) { ++walked; }), where);
    FUZZ_CHECK(walked == header.record_count, where);
  }
}

// The produce path's in-place edits: base offset and leader epoch sit outside the CRC, and
// LogAppendTime recomputes it, so the batch must stay valid after each. Returns the batch as a
// CreateTime topic stores it (the broker's base offset and epoch in place).
std::vector<std::byte> check_edits(const std::vector<std::byte>& batch, std::size_t limit) {
  std::vector<std::byte> stored = batch;
  set_base_offset(stored.data(), 1234567);
  set_partition_leader_epoch(stored.data(), 7);
  BatchesInfo info;
  FUZZ_CHECK(validate_record_batches(stored, BatchLimits{static_cast<std::uint32_t>(limit)}, &info) == ErrorCode::none,
             "base offset and epoch edits broke " + hex(batch));
  FUZZ_CHECK(info.header.base_offset == 1234567 && info.header.partition_leader_epoch == 7, hex(batch));
  std::vector<std::byte> edited = stored;
  set_log_append_time(edited.data(), edited.size(), 1700000000000);
  FUZZ_CHECK(validate_record_batches(edited, BatchLimits{static_cast<std::uint32_t>(limit)}, &info) == ErrorCode::none,
             "LogAppendTime edit broke " + hex(batch));
  FUZZ_CHECK(info.header.timestamp_type() == timestamp_type_log_append_time, hex(batch));
  FUZZ_CHECK(info.header.max_timestamp == 1700000000000, hex(batch));
  return stored;
}

// ListOffsets on a stored batch: look inside it (decompressing, bounded) and search it by the
// timestamps the client wrote. The answers depend on the data; they must not crash or trip a
// sanitizer.
void search_batch(const std::vector<std::byte>& batch) {
  const RecordBatchHeader header = parse_record_batch_header(batch.data());
  std::vector<std::byte> storage;
  auto area = batch_record_area(batch, &storage, fuzz_decompressed_bytes_max);
  if (!area.is_ok()) return;
  FUZZ_CHECK(area.value().size() <= fuzz_decompressed_bytes_max, hex(batch));
  RecordOffsetTimestamp found;
  (void)find_record_at_or_after(header, area.value(), header.base_timestamp, &found);
  (void)find_max_timestamp_record(header, area.value(), &found);
  std::int32_t walked = 0;
  std::int32_t parsed = 0;
  bool walk_ok = walk_records(area.value(), header.record_count, [&](std::int32_t, std::int64_t) { ++walked; });
  bool parse_ok = protocol::parse_records(area.value(), header.record_count,
                                          [&](const protocol::RecordView&) { ++parsed; });
  // parse_records reads every field that walk_records reads and more, so it accepts less.
  if (parse_ok) FUZZ_CHECK(walk_ok && parsed == walked && parsed == header.record_count, hex(batch));
}

}  // namespace
}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice;
  if (size < 1) return 0;
  const std::uint8_t config = data[0];
  const std::size_t limit = fuzz::limit_choices[config & 3];
  std::vector<std::byte> records(reinterpret_cast<const std::byte*>(data) + 1, reinterpret_cast<const std::byte*>(data) + size);
  if ((config & 4) && records.size() >= record_batch_log_overhead_bytes)
    store_be32(records.data() + fuzz::f::batch_length, static_cast<std::uint32_t>(records.size() - 12));
  if ((config & 8) && records.size() >= record_batch_header_bytes)
    store_be32(records.data() + fuzz::f::crc, compute_record_batch_crc(records.data(), records.size()));

  // Recovery reads whatever is on disk: any bytes.
  std::size_t disk_bytes = 0;
  if (check_batch_on_disk(records.data(), records.size(), &disk_bytes) == ErrorCode::none)
    FUZZ_CHECK(disk_bytes >= record_batch_header_bytes && disk_bytes <= records.size(), fuzz::hex(records));
  if (records.size() > record_batch_header_bytes) {
    std::span<const std::byte> area(records.data() + record_batch_header_bytes, records.size() - record_batch_header_bytes);
    (void)protocol::parse_records(area, config >> 4, [](const protocol::RecordView&) {});
  }

  BatchesInfo info;
  ErrorCode error = validate_record_batches(records, BatchLimits{static_cast<std::uint32_t>(limit)}, &info);
  if (error != ErrorCode::none) return 0;
  fuzz::check_valid_batch(records, info, limit);
  fuzz::search_batch(fuzz::check_edits(records, limit));
  return 0;
}
