// Reading and writing record batches for the log cleaner (storage/cleaner.cc): whole batches of a
// sealed segment, one record of a v2 record area, and a rewritten batch's records and header.
// Internal to the cleaner; nothing else includes it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "protocol/record_batch.h"
#include "storage/cleaner.h"
#include "storage/segment.h"

namespace sluice::storage::cleaner_io {

// Batch attribute bits the cleaner reads or sets.
constexpr std::int16_t attribute_compression_mask = 0x07;
constexpr std::int16_t attribute_delete_horizon = 0x40;

// Whole batches of [position, end) of a sealed segment, read in chunks into a reusable buffer
// (grown for a batch larger than a chunk). Reports every byte read to the throttler.
class BatchReader {
 public:
  BatchReader(const Segment& segment, std::uint64_t position, std::vector<std::byte>* buffer, std::size_t chunk_bytes,
              Throttler* throttler)
      : fd_(segment.file()->fd()), path_(&segment.file()->path()), position_(position),
        end_(segment.committed_bytes()), buffer_(buffer), chunk_bytes_(chunk_bytes), throttler_(throttler) {}

  // true with the next batch (valid until the next call), false at the end. A batch that does not
  // fit the segment or is shorter than a v2 header is corruption: an error.
  Result<bool> next(RecordBatchHeader* header, std::span<const std::byte>* batch) {
    if (position_ >= end_) return false;
    if (end_ - position_ < record_batch_header_bytes) return corrupt("truncated batch header");
    if (Status s = ensure(record_batch_header_bytes); !s.is_ok()) return s;
    *header = parse_record_batch_header(at());
    if (header->batch_length < std::int32_t(record_batch_header_bytes - record_batch_log_overhead_bytes) ||
        header->magic != 2)
      return corrupt("bad batch header");
    const auto bytes = static_cast<std::uint64_t>(header->batch_bytes());
    if (bytes > end_ - position_) return corrupt("batch past the segment end");
    if (Status s = ensure(bytes); !s.is_ok()) return s;
    *batch = std::span<const std::byte>(at(), bytes);
    batch_position_ = position_;
    position_ += bytes;
    return true;
  }
  std::uint64_t batch_position() const { return batch_position_; }
  bool at_end() const { return position_ >= end_; }
  std::uint64_t bytes_read() const { return bytes_read_; }

 private:
  const std::byte* at() const { return buffer_->data() + (position_ - buffer_position_); }
  Status ensure(std::uint64_t bytes) {
    if (position_ >= buffer_position_ && position_ + bytes <= buffer_position_ + buffer_bytes_) return Status::ok();
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(std::max<std::uint64_t>(chunk_bytes_, bytes),
                                                                        end_ - position_));
    if (buffer_->size() < want) buffer_->resize(want);
    auto got = pread_full(fd_, buffer_->data(), want, position_);
    if (!got.is_ok()) return got.status();
    if (got.value() < bytes) return corrupt("short read");
    buffer_position_ = position_;
    buffer_bytes_ = got.value();
    bytes_read_ += got.value();
    if (throttler_ != nullptr) throttler_->maybe_throttle(got.value());
    return Status::ok();
  }
  Status corrupt(const char* why) const {
    return Status::error(std::string("cleaner: ") + why + " in " + path_->string() + " at " + std::to_string(position_));
  }

  int fd_;
  const std::filesystem::path* path_;
  std::uint64_t position_, end_;
  std::vector<std::byte>* buffer_;
  std::size_t chunk_bytes_;
  Throttler* throttler_;
  std::uint64_t buffer_position_ = 0, buffer_bytes_ = 0, batch_position_ = 0, bytes_read_ = 0;
};

// One record of a v2 record area, with the raw bytes after its offset delta (key length, key,
// value length, value, headers) so it can be re-encoded with a new timestamp delta.
struct RecordFields {
  std::byte attributes;
  std::int64_t timestamp_delta;
  std::int32_t offset_delta;
  bool has_key, has_value;
  std::span<const std::byte> key;
  std::span<const std::byte> rest;
};

// Reads the record at *position of `area` and moves past it; false when it is malformed.
bool next_record(std::span<const std::byte> area, std::size_t* position, RecordFields* out);
// Appends `record` to `out` with `timestamp_delta` in place of its own.
void encode_record(std::vector<std::byte>& out, const RecordFields& record, std::int64_t timestamp_delta);
// Writes a v2 batch header for `h` with the given total size (CRC left to the caller).
void write_header(std::byte* p, const RecordBatchHeader& h, std::size_t batch_bytes);
// A batch with `original`'s header fields and no records.
std::vector<std::byte> empty_batch(const RecordBatchHeader& original);

}  // namespace sluice::storage::cleaner_io
