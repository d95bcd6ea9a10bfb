// Internals of dump-log shared by its files (dump_*.cc); not for other callers.
// Threads: single-threaded, as the tool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "protocol/record_batch.h"
#include "tools/dump_log.h"

namespace sluice::tools::dump {

// What one run prints to and how bad it went so far. exit_code only grows.
struct Context {
  const DumpLogOptions& options;
  std::FILE* out;
  std::FILE* err;
  int exit_code = dump_exit_ok;

  void problem() { raise(dump_exit_problem); }
  void unreadable() { raise(dump_exit_unreadable); }
  void raise(int code) {
    if (exit_rank(code) > exit_rank(exit_code)) exit_code = code;
  }
  // unreadable (a file not dumped at all) ranks above problem (a file dumped, with findings).
  static int exit_rank(int code) { return code == dump_exit_unreadable ? 2 : code == dump_exit_problem ? 1 : 0; }
};

// A read-only open file with its size at open. Owns the fd.
class ReadOnlyFile {
 public:
  static Result<ReadOnlyFile> open(const std::filesystem::path& path);
  ReadOnlyFile(ReadOnlyFile&& other) noexcept : fd_(other.fd_), size_(other.size_) { other.fd_ = -1; }
  ReadOnlyFile& operator=(ReadOnlyFile&&) = delete;
  ~ReadOnlyFile();
  std::uint64_t size() const { return size_; }
  // Reads [position, position + bytes) into *out; fails on I/O errors and short reads.
  Status read(std::uint64_t position, std::size_t bytes, std::vector<std::byte>* out) const;

 private:
  ReadOnlyFile(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  int fd_;
  std::uint64_t size_;
};

// The whole file, or an error. Requires: the file fits in memory (index, snapshot, checkpoint).
Result<std::vector<std::byte>> read_file_bytes(const std::filesystem::path& path);

// Where a batch starts and what a header scan finds there.
enum class BatchShape {
  v2,       // magic 2, batchLength >= 49, the whole batch within the file
  legacy,   // magic 0 or 1 (a message set entry), the whole entry within the file
  end,      // fewer bytes left than a header: the end (or a torn header)
  torn,     // a plausible header whose batch runs past the end of the file
  corrupt,  // a length or magic that no batch can have: nothing after it can be found
};
struct BatchAt {
  BatchShape shape = BatchShape::end;
  std::uint64_t bytes = 0;  // the whole batch (v2, legacy, torn)
  RecordBatchHeader header;  // v2 and torn: the parsed header
  std::string why;           // torn, corrupt, end with leftover bytes: what is wrong
};
// Classifies the batch at `position` of a file of `file_bytes` bytes, reading only its header.
Result<BatchAt> batch_at(const ReadOnlyFile& file, std::uint64_t position);

// Sums of file-supplied numbers wrap as Java's do instead of overflowing (undefined in C++).
inline std::int64_t add_wrapping(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
inline std::int64_t last_offset_of(const RecordBatchHeader& h) { return add_wrapping(h.base_offset, h.last_offset_delta); }

// "CreateTime" / "LogAppendTime" as Kafka's TimestampType prints.
const char* timestamp_type_name(const RecordBatchHeader& header);
// Kafka's CompressionType names; "unknown(N)" for 5..7.
std::string codec_name(int codec);
// Kafka's DefaultRecordBatch.lastSequence / DefaultRecord.sequence.
std::int32_t sequence_at(std::int32_t base_sequence, std::int32_t offset_delta);
// The base offset in a segment-style file name ("00000000000000000042.index" -> 42), or nullopt.
std::optional<std::int64_t> base_offset_of(const std::filesystem::path& path);
// The path of the sibling file with the same base name and another suffix (".log", ".index").
std::filesystem::path sibling(const std::filesystem::path& path, const char* suffix);

// One record of a v2 batch, with its headers' keys. Views point into the record area.
struct Record {
  std::int8_t attributes = 0;
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
  std::optional<std::span<const std::byte>> key;    // nullopt: null
  std::optional<std::span<const std::byte>> value;  // nullopt: null
  std::vector<std::string_view> header_keys;
};
// Decodes the records of a record area (decompressed when the batch is compressed) into *out.
// Returns "" when all record_count records parse and end exactly at the area's end; otherwise a
// description of the problem (and *out holds the records before it).
std::string decode_records(std::span<const std::byte> area, std::int32_t record_count, std::vector<Record>* out);

// Record offsets across one file in deep mode: Kafka reports every pair (previous, next) with
// next != previous + 1 as non-consecutive. Gaps are normal after compaction; a next at or below
// previous is damage. At most pairs_max pairs are kept, the rest counted.
struct RecordOffsets {
  static constexpr std::size_t pairs_max = 1000;
  std::int64_t previous = -1;  // the last record offset seen, -1 before the first
  std::vector<std::pair<std::int64_t, std::int64_t>> non_consecutive;
  std::uint64_t non_consecutive_dropped = 0;
  std::uint64_t non_increasing_count = 0;
  void see(std::int64_t offset);
};

// Prints the records of one v2 batch in deep mode (Kafka's "| offset: ..." lines) and tracks
// their offsets. Returns false (after printing why as a "| error:" line) when the records cannot
// be read.
bool print_batch_records(Context& ctx, std::span<const std::byte> batch, const RecordBatchHeader& header,
                         RecordOffsets* offsets);

// The largest record timestamp of a v2 batch (Kafka's time index check iterates the records);
// nullopt with *why when the records cannot be read.
std::optional<std::int64_t> batch_max_record_timestamp(std::span<const std::byte> batch, std::string* why);

// Bytes as text for --print-data-log: valid UTF-8 passes, control characters, invalid bytes and
// backslashes are escaped (\n, \t, \\, \xNN), so one record stays on one line.
std::string printable(std::span<const std::byte> bytes);
// A JSON string literal (with quotes) of UTF-8-ish text; invalid bytes become \u00NN.
std::string json_string(std::string_view text);
std::string base64(std::span<const std::byte> bytes);
// --offsets-decoder: Kafka's OffsetsMessageParser output (key and payload as JSON, "<DELETE>"
// for a tombstone, or a "... skipping" message as the key and no payload).
void offsets_key_payload(std::optional<std::span<const std::byte>> key, std::optional<std::span<const std::byte>> value,
                         std::int64_t offset, std::string* key_text, std::optional<std::string>* payload_text);

// Per file type. Each prints "Dumping <path>" first and raises ctx's exit code as needed.
void dump_log_segment(Context& ctx, const std::filesystem::path& path);
void dump_offset_index(Context& ctx, const std::filesystem::path& path);
void dump_time_index(Context& ctx, const std::filesystem::path& path);
void dump_producer_snapshot(Context& ctx, const std::filesystem::path& path);
void dump_txn_index(Context& ctx, const std::filesystem::path& path);
// Checkpoints, leader-epoch-checkpoint, partition.metadata, meta.properties, clean-shutdown
// marker, by file name; false when the name is none of them.
bool dump_named_state_file(Context& ctx, const std::filesystem::path& path);

}  // namespace sluice::tools::dump
