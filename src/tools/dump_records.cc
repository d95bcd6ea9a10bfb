// dump-log deep mode: the records of a v2 batch (decompressed), control records, and
// __consumer_offsets records for --offsets-decoder.
#include <cinttypes>
#include <variant>

#include "base/endian.h"
#include "protocol/compression.h"
#include "protocol/consumer_offsets.h"
#include "tools/dump_internal.h"

namespace sluice::tools::dump {
namespace {

// Decompressed records of one batch may take this much memory; a batch whose records are
// larger is reported as not decodable. Kafka's default max.message.bytes is 1 MiB compressed.
constexpr std::size_t records_bytes_max = 256 * 1024 * 1024;

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// A varint-length-prefixed field of a record: length -1 is null (when nullable), else bytes.
bool read_field(std::span<const std::byte> record, std::size_t* at, bool nullable,
                std::optional<std::span<const std::byte>>* out) {
  std::int32_t length = 0;
  if (!read_varint(record, at, &length) || length < (nullable ? -1 : 0)) return false;
  if (length < 0) return *out = std::nullopt, true;
  if (static_cast<std::size_t>(length) > record.size() - *at) return false;
  *out = record.subspan(*at, static_cast<std::size_t>(length));
  *at += static_cast<std::size_t>(length);
  return true;
}

// One record's fields after its length (Kafka's DefaultRecord.readFrom); "" or the problem.
std::string decode_record(std::span<const std::byte> r, Record* rec) {
  std::size_t at = 1;
  rec->attributes = static_cast<std::int8_t>(r[0]);
  if (!read_varlong(r, &at, &rec->timestamp_delta)) return "bad timestampDelta";
  if (!read_varint(r, &at, &rec->offset_delta)) return "bad offsetDelta";
  if (!read_field(r, &at, true, &rec->key)) return "bad key";
  if (!read_field(r, &at, true, &rec->value)) return "bad value";
  std::int32_t header_count = 0;
  if (!read_varint(r, &at, &header_count) || header_count < 0) return "bad header count";
  // Each header takes at least two bytes, so a count the record cannot hold fails below.
  for (std::int32_t i = 0; i < header_count; ++i) {
    std::optional<std::span<const std::byte>> key, value;
    if (!read_field(r, &at, false, &key) || !read_field(r, &at, true, &value))
      return "bad header " + std::to_string(i);
    rec->header_keys.push_back(as_text(*key));
  }
  if (at != r.size()) return std::to_string(r.size() - at) + " bytes left after the record's fields";
  return "";
}

std::int64_t record_timestamp(const RecordBatchHeader& h, const Record& r) {
  // Kafka's DefaultRecordBatch: every record of a LogAppendTime batch has the batch's max timestamp.
  if (h.timestamp_type() == timestamp_type_log_append_time) return h.max_timestamp;
  return add_wrapping(h.base_timestamp, r.timestamp_delta);
}

// Kafka's ControlRecordType ids.
const char* control_type_name(std::int16_t type) {
  switch (type) {
    case 0: return "ABORT";
    case 1: return "COMMIT";
    case 2: return "LEADER_CHANGE";
    case 3: return "SNAPSHOT_HEADER";
    case 4: return "SNAPSHOT_FOOTER";
    case 5: return "KRAFT_VERSION";
    case 6: return "KRAFT_VOTERS";
    default: return "UNKNOWN";
  }
}

// A control record: key {version i16, type i16}; an ABORT/COMMIT value {version i16,
// coordinatorEpoch i32} (Kafka's EndTransactionMarker).
std::string control_text(const Record& r) {
  if (!r.key || r.key->size() < 4) return " controlType: malformed key";
  const auto type = static_cast<std::int16_t>(load_be16(r.key->data() + 2));
  if (type == 0 || type == 1) {
    if (!r.value || r.value->size() < 6) return std::string(" endTxnMarker: ") + control_type_name(type) + " (malformed value)";
    const auto epoch = static_cast<std::int32_t>(load_be32(r.value->data() + 2));
    return std::string(" endTxnMarker: ") + control_type_name(type) + " coordinatorEpoch: " + std::to_string(epoch);
  }
  return std::string(" controlType: ") + control_type_name(type) + "(" + std::to_string(type) + ")";
}

std::string header_keys_text(const Record& r) {
  std::string text = "[";
  for (std::size_t i = 0; i < r.header_keys.size(); ++i) {
    if (i > 0) text += ",";
    text += printable(std::as_bytes(std::span<const char>(r.header_keys[i].data(), r.header_keys[i].size())));
  }
  return text + "]";
}

void print_record(Context& ctx, const RecordBatchHeader& h, const Record& r, std::int64_t offset) {
  std::string line = "|";
  std::string prefix = " ";
  if (!ctx.options.skip_record_metadata) {
    char text[256];
    std::snprintf(text, sizeof text, " offset: %" PRId64 " %s: %" PRId64 " keySize: %d valueSize: %d sequence: %d headerKeys: ",
                  offset, timestamp_type_name(h), record_timestamp(h, r), r.key ? static_cast<int>(r.key->size()) : -1,
                  r.value ? static_cast<int>(r.value->size()) : -1, sequence_at(h.base_sequence, r.offset_delta));
    line += text + header_keys_text(r);
    if (h.is_control()) line += control_text(r);
  }
  if (ctx.options.print_data_log && !h.is_control()) {
    std::string key;
    std::optional<std::string> payload;
    if (ctx.options.offsets_decoder) {
      offsets_key_payload(r.key, r.value, offset, &key, &payload);
    } else {
      if (r.key) key = printable(*r.key);
      if (r.value) payload = printable(*r.value);
    }
    if (ctx.options.offsets_decoder || r.key) line += prefix + "key: " + key;
    if (payload) line += prefix + "payload: " + *payload;
  }
  line += "\n";
  std::fputs(line.c_str(), ctx.out);
}

}  // namespace

void RecordOffsets::see(std::int64_t offset) {
  if (previous >= 0 && offset != add_wrapping(previous, 1)) {
    if (non_consecutive.size() < pairs_max) non_consecutive.emplace_back(previous, offset);
    else ++non_consecutive_dropped;
    if (offset <= previous) ++non_increasing_count;
  }
  previous = offset;
}

std::string decode_records(std::span<const std::byte> area, std::int32_t record_count, std::vector<Record>* out) {
  if (record_count < 0) return "record count " + std::to_string(record_count);
  std::size_t pos = 0;
  for (std::int32_t i = 0; i < record_count; ++i) {
    if (pos >= area.size()) return "the records end after " + std::to_string(i) + " of " + std::to_string(record_count);
    std::int32_t length = 0;
    if (!read_varint(area, &pos, &length) || length < 1) return "record " + std::to_string(i) + ": bad length";
    if (static_cast<std::size_t>(length) > area.size() - pos)
      return "record " + std::to_string(i) + ": length " + std::to_string(length) + " runs past the end";
    Record rec;
    std::string why = decode_record(area.subspan(pos, static_cast<std::size_t>(length)), &rec);
    if (!why.empty()) return "record " + std::to_string(i) + ": " + why;
    out->push_back(std::move(rec));
    pos += static_cast<std::size_t>(length);
  }
  if (pos != area.size()) return std::to_string(area.size() - pos) + " bytes after the last record";
  return "";
}

bool print_batch_records(Context& ctx, std::span<const std::byte> batch, const RecordBatchHeader& header,
                         RecordOffsets* offsets) {
  std::vector<std::byte> storage;
  auto area = batch_record_area(batch, &storage, records_bytes_max);
  if (!area.is_ok()) {
    std::fprintf(ctx.out, "| error: cannot decompress the records: %s\n", area.status().message().c_str());
    return false;
  }
  std::vector<Record> records;
  std::string why = decode_records(area.value(), header.record_count, &records);
  for (const Record& r : records) {
    const std::int64_t offset = add_wrapping(header.base_offset, r.offset_delta);
    offsets->see(offset);
    print_record(ctx, header, r, offset);
  }
  if (!why.empty()) std::fprintf(ctx.out, "| error: %s\n", why.c_str());
  return why.empty();
}

std::optional<std::int64_t> batch_max_record_timestamp(std::span<const std::byte> batch, std::string* why) {
  const RecordBatchHeader header = parse_record_batch_header(batch.data());
  std::vector<std::byte> storage;
  auto area = batch_record_area(batch, &storage, records_bytes_max);
  if (!area.is_ok()) return *why = area.status().message(), std::nullopt;
  std::vector<Record> records;
  *why = decode_records(area.value(), header.record_count, &records);
  if (!why->empty()) return std::nullopt;
  std::int64_t max = -1;  // RecordBatch.NO_TIMESTAMP
  for (const Record& r : records) max = std::max(max, record_timestamp(header, r));
  return max;
}

}  // namespace sluice::tools::dump
