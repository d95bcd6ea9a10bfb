// Tests of dump-log (src/tools/dump_log.h), the kafka-dump-log.sh equivalent. Segments are built
// byte by byte in Kafka's documented RecordBatch v2 layout (records with keys, values and headers,
// compressed with each codec by the codec libraries), or written by our own storage::Log, so the
// output lines, deep mode, index verification and the state files are checked against known
// content. A randomized test feeds garbage and mutated files to every mode and checks that the
// tool always ends with a defined exit code.
#include "tools/dump_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "base/endian.h"
#include "protocol/consumer_offsets.h"
#include "protocol/record_batch.h"
#include "storage/compressors.h"
#include "storage/log.h"
#include "storage/log_dir.h"
#include "storage/producer_state.h"
#include "storage/segment.h"
#include "storage/test_dir.h"

// Designated initializers name only the fields a test sets; the rest keep their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace sluice::tools {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- building batches

struct TestRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  std::int64_t timestamp_delta = 0;
};

std::vector<std::byte> to_bytes(std::string_view s) {
  auto b = std::as_bytes(std::span<const char>(s.data(), s.size()));
  return {b.begin(), b.end()};
}

void put_nullable(std::vector<std::byte>& out, const std::optional<std::string>& s) {
  if (!s) return test::put_varlong(out, -1);
  test::put_varlong(out, static_cast<std::int64_t>(s->size()));
  auto b = to_bytes(*s);
  out.insert(out.end(), b.begin(), b.end());
}

// The v2 record area: record i has offset delta i.
std::vector<std::byte> encode_records(const std::vector<TestRecord>& records) {
  std::vector<std::byte> area;
  for (std::size_t i = 0; i < records.size(); ++i) {
    std::vector<std::byte> body{std::byte{0}};
    test::put_varlong(body, records[i].timestamp_delta);
    test::put_varlong(body, static_cast<std::int64_t>(i));
    put_nullable(body, records[i].key);
    put_nullable(body, records[i].value);
    test::put_varlong(body, static_cast<std::int64_t>(records[i].headers.size()));
    for (const auto& [k, v] : records[i].headers) {
      put_nullable(body, k);
      put_nullable(body, v);
    }
    test::put_varlong(area, static_cast<std::int64_t>(body.size()));
    area.insert(area.end(), body.begin(), body.end());
  }
  return area;
}

struct BatchFields {
  std::int64_t base_offset = 0;
  std::int32_t leader_epoch = 0;
  int codec = 0;
  std::int16_t flags = 0;  // timestamp type, transactional, control bits of the attributes
  std::int64_t base_timestamp = 1000;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::optional<std::int64_t> max_timestamp;  // default: base + the largest delta
};

std::vector<std::byte> make_batch(const BatchFields& f, const std::vector<TestRecord>& records) {
  auto area = encode_records(records);
  auto payload = f.codec == 0 ? area : test::compress_for_codec(f.codec, area);
  std::vector<std::byte> batch(61 + payload.size());
  std::byte* p = batch.data();
  std::int64_t max_delta = 0;
  for (const auto& r : records) max_delta = std::max(max_delta, r.timestamp_delta);
  store_be64(p + 0, static_cast<std::uint64_t>(f.base_offset));
  store_be32(p + 8, static_cast<std::uint32_t>(batch.size() - 12));
  store_be32(p + 12, static_cast<std::uint32_t>(f.leader_epoch));
  p[16] = std::byte{2};
  store_be16(p + 21, static_cast<std::uint16_t>(f.codec | f.flags));
  store_be32(p + 23, static_cast<std::uint32_t>(records.size() - 1));
  store_be64(p + 27, static_cast<std::uint64_t>(f.base_timestamp));
  store_be64(p + 35, static_cast<std::uint64_t>(f.max_timestamp.value_or(f.base_timestamp + max_delta)));
  store_be64(p + 43, static_cast<std::uint64_t>(f.producer_id));
  store_be16(p + 51, static_cast<std::uint16_t>(f.producer_epoch));
  store_be32(p + 53, static_cast<std::uint32_t>(f.base_sequence));
  store_be32(p + 57, static_cast<std::uint32_t>(records.size()));
  std::copy(payload.begin(), payload.end(), batch.begin() + 61);
  store_be32(p + 17, crc32c(p + 21, batch.size() - 21));
  return batch;
}

std::vector<TestRecord> simple_records(int count, const std::string& prefix = "value") {
  std::vector<TestRecord> records;
  for (int i = 0; i < count; ++i)
    records.push_back({"k" + std::to_string(i), prefix + std::to_string(i), {}, i});
  return records;
}

void write_file(const fs::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
void write_file(const fs::path& path, const std::string& text) { write_file(path, to_bytes(text)); }

std::vector<std::byte> read_bytes(const fs::path& path) { return to_bytes(test::read_file(path)); }

std::vector<std::byte> concat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// ---------------------------------------------------------------- running the tool

struct DumpRun {
  int code;
  std::string out;
  std::string err;
};

DumpRun run(DumpLogOptions options) {
  char* out_text = nullptr;
  char* err_text = nullptr;
  std::size_t out_bytes = 0, err_bytes = 0;
  std::FILE* out = open_memstream(&out_text, &out_bytes);
  std::FILE* err = open_memstream(&err_text, &err_bytes);
  int code = dump_log_run(options, out, err);
  std::fclose(out);
  std::fclose(err);
  DumpRun r{code, std::string(out_text, out_bytes), std::string(err_text, err_bytes)};
  std::free(out_text);
  std::free(err_text);
  return r;
}

DumpRun run_files(std::vector<std::string> files, DumpLogOptions options = {}) {
  options.files = std::move(files);
  if (options.offsets_decoder) options.print_data_log = true;
  if (options.print_data_log) options.deep_iteration = true;
  return run(options);
}

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.find(needle) != std::string::npos) out.push_back(line);
    start = end + 1;
  }
  return out;
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// ---------------------------------------------------------------- .log: batch lines

TEST(DumpLog, BatchLinesFollowKafkasFormat) {
  // Two batches with known fields; the first line is compared in full with Kafka's format.
  test::TempDir dir;
  auto first = make_batch({.base_offset = 0, .leader_epoch = 4, .base_timestamp = 1000, .producer_id = 7,
                           .producer_epoch = 1, .base_sequence = 0},
                          simple_records(3));
  auto second = make_batch({.base_offset = 3, .leader_epoch = 4, .base_timestamp = 2000}, simple_records(2));
  const fs::path log = dir.path() / "00000000000000000000.log";
  write_file(log, concat({first, second}));
  DumpRun r = run_files({log.string()});
  EXPECT_EQ(r.code, dump_exit_ok) << r.err;
  const std::uint32_t crc = load_be32(first.data() + 17);
  const std::string expected = "baseOffset: 0 lastOffset: 2 count: 3 baseSequence: 0 lastSequence: 2 producerId: 7 "
                               "producerEpoch: 1 partitionLeaderEpoch: 4 isTransactional: false isControl: false "
                               "deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1002 size: " +
                               std::to_string(first.size()) + " magic: 2 compresscodec: none crc: " +
                               std::to_string(crc) + " isvalid: true";
  EXPECT_TRUE(contains(r.out, "Dumping " + log.string() + "\nLog starting offset: 0\n" + expected + "\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "baseOffset: 3 lastOffset: 4 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 "
                              "producerEpoch: -1 partitionLeaderEpoch: 4")) << r.out;
  EXPECT_TRUE(contains(r.out, "position: " + std::to_string(first.size()) + " CreateTime: 2001")) << r.out;
  EXPECT_TRUE(contains(r.out, "Summary: batches: 2 records: 5 firstOffset: 0 lastOffset: 4 validBytes: " +
                                  std::to_string(first.size() + second.size()) + " fileBytes: " +
                                  std::to_string(first.size() + second.size()) + " invalidBatches: 0")) << r.out;
  EXPECT_TRUE(lines_with(r.out, "| offset").empty()) << "shallow mode prints no records";
  EXPECT_EQ(r.err, "");
}

TEST(DumpLog, EveryCodecDecodesInDeepMode) {
  // One batch per codec, records with keys, values and headers; deep mode with data shows each
  // record's fields and the codec name on the batch line.
  test::TempDir dir;
  std::vector<std::byte> segment;
  for (int codec = 0; codec <= 4; ++codec) {
    std::vector<TestRecord> records;
    for (int i = 0; i < 3; ++i)
      records.push_back({"key" + std::to_string(codec), "payload-" + std::to_string(codec) + "-" + std::to_string(i),
                         {{"h1", "x"}, {"trace", std::nullopt}}, 10 * i});
    auto batch = make_batch({.base_offset = 100 + 3 * codec, .codec = codec, .base_timestamp = 5000,
                             .producer_id = 9, .producer_epoch = 0, .base_sequence = 3 * codec},
                            records);
    segment.insert(segment.end(), batch.begin(), batch.end());
  }
  const fs::path log = dir.path() / "00000000000000000100.log";
  write_file(log, segment);
  DumpRun r = run_files({log.string()}, {.print_data_log = true});
  ASSERT_EQ(r.code, dump_exit_ok) << r.out << r.err;
  const char* names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  for (int codec = 0; codec <= 4; ++codec) {
    EXPECT_EQ(lines_with(r.out, std::string("compresscodec: ") + names[codec] + " ").size(), 1u) << names[codec];
    const int offset = 100 + 3 * codec + 2;
    const std::string expected = "| offset: " + std::to_string(offset) + " CreateTime: 5020 keySize: 4 valueSize: 11 sequence: " +
                                 std::to_string(3 * codec + 2) + " headerKeys: [h1,trace] key: key" +
                                 std::to_string(codec) + " payload: payload-" + std::to_string(codec) + "-2";
    EXPECT_EQ(lines_with(r.out, expected).size(), 1u) << expected << "\n" << r.out;
  }
  EXPECT_EQ(lines_with(r.out, "| offset: ").size(), 15u);
  EXPECT_TRUE(contains(r.out, "Summary: batches: 5 records: 15 firstOffset: 100 lastOffset: 114")) << r.out;
  EXPECT_EQ(r.err, "") << "offsets are consecutive";
}

TEST(DumpLog, DeepIterationWithoutDataAndSkipRecordMetadata) {
  test::TempDir dir;
  const fs::path log = dir.path() / "00000000000000000000.log";
  write_file(log, make_batch({.codec = 4}, {{std::nullopt, "v", {}, 0}, {"key", std::nullopt, {}, 1}}));
  DumpRun deep = run_files({log.string()}, {.deep_iteration = true});
  EXPECT_EQ(deep.code, dump_exit_ok);
  EXPECT_EQ(lines_with(deep.out, "| offset: 0 CreateTime: 1000 keySize: -1 valueSize: 1 sequence: -1 headerKeys: []").size(), 1u)
      << deep.out;
  EXPECT_TRUE(lines_with(deep.out, "payload:").empty());
  DumpRun data = run_files({log.string()}, {.print_data_log = true, .skip_record_metadata = true});
  EXPECT_EQ(lines_with(data.out, "| payload: v").size(), 1u) << data.out;
  EXPECT_EQ(lines_with(data.out, "| key: key").size(), 1u) << data.out;
  EXPECT_TRUE(lines_with(data.out, "keySize").empty());
}

TEST(DumpLog, LogAppendTimeRecordsCarryTheBatchMaxTimestamp) {
  test::TempDir dir;
  const fs::path log = dir.path() / "00000000000000000000.log";
  write_file(log, make_batch({.flags = 0x08, .base_timestamp = 1000, .max_timestamp = 777777}, simple_records(2)));
  DumpRun r = run_files({log.string()}, {.deep_iteration = true});
  EXPECT_EQ(r.code, dump_exit_ok);
  EXPECT_TRUE(contains(r.out, "position: 0 LogAppendTime: 777777 size:")) << r.out;
  EXPECT_EQ(lines_with(r.out, "LogAppendTime: 777777 keySize").size(), 2u) << r.out;
}

TEST(DumpLog, ControlRecordsShowTheirMarker) {
  // A transaction's COMMIT marker: key {version 0, type 1}, value {version 0, coordinatorEpoch 5}.
  test::TempDir dir;
  std::string key("\0\0\0\1", 4), value("\0\0\0\0\0\5", 6);
  const fs::path log = dir.path() / "00000000000000000000.log";
  write_file(log, make_batch({.flags = 0x30, .producer_id = 3, .producer_epoch = 0}, {{key, value, {}, 0}}));
  DumpRun r = run_files({log.string()}, {.print_data_log = true});
  EXPECT_EQ(r.code, dump_exit_ok) << r.err;
  EXPECT_TRUE(contains(r.out, "isTransactional: true isControl: true")) << r.out;
  EXPECT_TRUE(contains(r.out, "headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 5\n")) << r.out;
  EXPECT_TRUE(lines_with(r.out, "payload").empty()) << "control records print no payload";
}

TEST(DumpLog, DataIsEscapedToOneLine) {
  test::TempDir dir;
  const fs::path log = dir.path() / "00000000000000000000.log";
  std::string value = "a\nb\x01\\c\xc3\xa9\xff";
  write_file(log, make_batch({}, {{std::nullopt, value, {}, 0}}));
  DumpRun r = run_files({log.string()}, {.print_data_log = true});
  EXPECT_EQ(r.code, dump_exit_ok);
  EXPECT_TRUE(contains(r.out, "payload: a\\nb\\x01\\\\c\xc3\xa9\\xff\n")) << r.out;
}

// ---------------------------------------------------------------- .log: damage

TEST(DumpLog, BadCrcIsReportedAndTheWalkContinues) {
  test::TempDir dir;
  auto bad = make_batch({}, simple_records(2));
  bad.back() = static_cast<std::byte>(static_cast<int>(bad.back()) ^ 0x40);
  auto good = make_batch({.base_offset = 2}, simple_records(1));
  const fs::path log = dir.path() / "00000000000000000000.log";
  write_file(log, concat({bad, good}));
  DumpRun r = run_files({log.string()});
  EXPECT_EQ(r.code, dump_exit_problem);
  EXPECT_EQ(lines_with(r.out, "isvalid: false").size(), 1u) << r.out;
  EXPECT_EQ(lines_with(r.out, "baseOffset: 2 ").size(), 1u) << r.out;
  EXPECT_TRUE(contains(r.out, "invalidBatches: 1")) << r.out;
  EXPECT_TRUE(contains(r.err, "batch at position 0 fails its CRC")) << r.err;
}

TEST(DumpLog, TornAndGarbageTailsAreReported) {
  // A torn batch (cut in the middle) and a header with an impossible length both end the walk
  // with Kafka's "invalid bytes" line, the position and the count.
  test::TempDir dir;
  auto a = make_batch({}, simple_records(2));
  auto b = make_batch({.base_offset = 2}, simple_records(2));
  const fs::path log = dir.path() / "00000000000000000000.log";
  auto torn = concat({a, b});
  torn.resize(a.size() + b.size() / 2);
  write_file(log, torn);
  DumpRun r = run_files({log.string()}, {.deep_iteration = true});
  EXPECT_EQ(r.code, dump_exit_problem);
  EXPECT_TRUE(contains(r.out, "Found " + std::to_string(b.size() / 2) + " invalid bytes at the end of 00000000000000000000.log"
                              " (position " + std::to_string(a.size()) + ": a batch of " + std::to_string(b.size()) +
                              " bytes with only " + std::to_string(b.size() / 2) + " left)")) << r.out;
  EXPECT_TRUE(contains(r.out, "validBytes: " + std::to_string(a.size()))) << r.out;

  auto garbage = concat({a, std::vector<std::byte>(30, std::byte{0})});
  write_file(log, garbage);
  r = run_files({log.string()});
  EXPECT_EQ(r.code, dump_exit_problem);
  EXPECT_TRUE(contains(r.out, "Found 30 invalid bytes at the end of 00000000000000000000.log (position " +
                                  std::to_string(a.size()) + ": batchLength 0 below the minimum 14)")) << r.out;

  write_file(log, concat({a, std::vector<std::byte>(5, std::byte{1})}));
  r = run_files({log.string()});
  EXPECT_EQ(r.code, dump_exit_problem);
  EXPECT_TRUE(contains(r.out, "Found 5 invalid bytes")) << r.out;
}

TEST(DumpLog, OffsetGapsAreListedAndGoingBackwardsIsAProblem) {
  test::TempDir dir;
  const fs::path log = dir.path() / "00000000000000000000.log";
  write_file(log, concat({make_batch({}, simple_records(3)), make_batch({.base_offset = 10}, simple_records(1))}));
  DumpRun gap = run_files({log.string()}, {.deep_iteration = true});
  EXPECT_EQ(gap.code, dump_exit_ok) << "gaps are normal after compaction";
  EXPECT_TRUE(contains(gap.err, "Non-consecutive offsets in " + fs::absolute(log).string() + "\n  2 is followed by 10\n"))
      << gap.err;

  write_file(log, concat({make_batch({.base_offset = 5}, simple_records(3)), make_batch({.base_offset = 6}, simple_records(1))}));
  DumpRun back = run_files({log.string()}, {.deep_iteration = true});
  EXPECT_EQ(back.code, dump_exit_problem);
  EXPECT_TRUE(contains(back.err, "7 is followed by 6")) << back.err;
  EXPECT_TRUE(contains(back.err, "not above the previous lastOffset 7")) << back.err;
}

TEST(DumpLog, UndecodableRecordsAreAProblem) {
  // A gzip batch whose payload is not gzip, with a valid CRC: the header line prints, the
  // records report the codec failure.
  test::TempDir dir;
  auto batch = make_batch({}, simple_records(2));
  store_be16(batch.data() + 21, 1);
  store_be32(batch.data() + 17, crc32c(batch.data() + 21, batch.size() - 21));
  const fs::path log = dir.path() / "00000000000000000000.log";
  write_file(log, batch);
  DumpRun r = run_files({log.string()}, {.deep_iteration = true});
  EXPECT_EQ(r.code, dump_exit_problem);
  EXPECT_TRUE(contains(r.out, "compresscodec: gzip")) << r.out;
  EXPECT_TRUE(contains(r.out, "| error: cannot decompress the records")) << r.out;
}

TEST(DumpLog, MaxBytesStopsBeforeTheFirstBatchPastIt) {
  test::TempDir dir;
  auto a = make_batch({}, simple_records(2));
  const fs::path log = dir.path() / "00000000000000000000.log";
  write_file(log, concat({a, make_batch({.base_offset = 2}, simple_records(2))}));
  DumpRun r = run_files({log.string()}, {.log_bytes_max = a.size() + 1});
  EXPECT_EQ(r.code, dump_exit_ok);
  EXPECT_EQ(lines_with(r.out, "baseOffset:").size(), 1u) << r.out;
  EXPECT_TRUE(contains(r.out, "Stopped at position " + std::to_string(a.size()))) << r.out;
}

// ---------------------------------------------------------------- --offsets-decoder

TEST(DumpLog, OffsetsDecoderPrintsKafkasJson) {
  test::TempDir dir;
  protocol::GroupMetadataValue group;
  group.protocol_type = "consumer";
  group.generation = 2;
  group.protocol = "range";
  group.leader = "m1";
  group.current_state_timestamp = 99;
  group.members.push_back({.member_id = "m1", .group_instance_id = std::nullopt, .client_id = "c",
                           .client_host = "/127.0.0.1", .rebalance_timeout_ms = 300000, .session_timeout_ms = 10000,
                           .subscription = {std::byte{1}, std::byte{2}, std::byte{3}}, .assignment = {}});
  auto text = [](const std::vector<std::byte>& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); };
  std::vector<TestRecord> records = {
      {text(protocol::encode_offset_commit_key("g1", "t", 3)),
       text(protocol::encode_offset_commit_value(42, 7, "m", 1234, std::nullopt)), {}, 0},
      {text(protocol::encode_group_metadata_key("g1")), text(protocol::encode_group_metadata_value(group)), {}, 0},
      {text(protocol::encode_offset_commit_key("g1", "t", 4)), std::nullopt, {}, 0},
      {std::string("\0\x7f", 2), std::string("x"), {}, 0},
  };
  const fs::path log = dir.path() / "00000000000000000000.log";
  write_file(log, make_batch({}, records));
  DumpRun r = run_files({log.string()}, {.offsets_decoder = true});
  EXPECT_EQ(r.code, dump_exit_ok) << r.err;
  EXPECT_TRUE(contains(r.out, " key: {\"type\":\"1\",\"data\":{\"group\":\"g1\",\"topic\":\"t\",\"partition\":3}} payload: "
                              "{\"version\":\"3\",\"data\":{\"offset\":42,\"leaderEpoch\":7,\"metadata\":\"m\","
                              "\"commitTimestamp\":1234}}\n")) << r.out;
  EXPECT_TRUE(contains(r.out, " key: {\"type\":\"2\",\"data\":{\"group\":\"g1\"}} payload: {\"version\":\"3\",\"data\":"
                              "{\"protocolType\":\"consumer\",\"generation\":2,\"protocol\":\"range\",\"leader\":\"m1\","
                              "\"currentStateTimestamp\":99,\"members\":[{\"memberId\":\"m1\",\"groupInstanceId\":null,"
                              "\"clientId\":\"c\",\"clientHost\":\"/127.0.0.1\",\"rebalanceTimeout\":300000,"
                              "\"sessionTimeout\":10000,\"subscription\":\"AQID\",\"assignment\":\"\"}]}}\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"partition\":4}} payload: <DELETE>\n")) << r.out;
  EXPECT_TRUE(contains(r.out, " key: Unknown record type 127 at offset 3, skipping.\n")) << r.out;
}

// ---------------------------------------------------------------- indexes

struct SegmentFiles {
  fs::path log, index, time_index;
};

// 60 batches of 3 records written through storage::Log with an index entry every ~200 bytes,
// timestamps 100 apart per batch, then closed cleanly (indexes trimmed).
SegmentFiles write_real_segment(const fs::path& dir) {
  storage::LogConfig config;
  config.index_interval_bytes = 200;
  config.index_bytes_max = 64 * 1024;
  auto log = std::move(storage::Log::open(dir, config, 0, true)).value();
  for (int i = 0; i < 60; ++i) {
    std::vector<TestRecord> records;
    for (int k = 0; k < 3; ++k) records.push_back({std::nullopt, std::string(30, 'a' + k), {}, k});
    auto batch = make_batch({.codec = i % 5, .base_timestamp = 10000 + 100 * i}, records);
    EXPECT_TRUE(log->append(batch, 0, 0).is_ok());
  }
  EXPECT_TRUE(log->close(true).is_ok());
  return {dir / "00000000000000000000.log", dir / "00000000000000000000.index", dir / "00000000000000000000.timeindex"};
}

void copy_segment(const SegmentFiles& from, const fs::path& dir, SegmentFiles* to) {
  *to = {dir / from.log.filename(), dir / from.index.filename(), dir / from.time_index.filename()};
  fs::copy_file(from.log, to->log, fs::copy_options::overwrite_existing);
  fs::copy_file(from.index, to->index, fs::copy_options::overwrite_existing);
  fs::copy_file(from.time_index, to->time_index, fs::copy_options::overwrite_existing);
}

TEST(DumpLog, IndexesOfARealSegmentVerify) {
  test::TempDir dir;
  SegmentFiles s = write_real_segment(dir.path());
  const std::size_t entries = fs::file_size(s.index) / 8, time_entries = fs::file_size(s.time_index) / 12;
  ASSERT_GT(entries, 10u);
  ASSERT_GT(time_entries, 10u);
  DumpRun dump = run_files({s.index.string(), s.time_index.string()});
  EXPECT_EQ(dump.code, dump_exit_ok) << dump.err;
  EXPECT_EQ(lines_with(dump.out, "offset: ").size() - lines_with(dump.out, "timestamp: ").size(), entries) << dump.out;
  EXPECT_EQ(lines_with(dump.out, "timestamp: ").size(), time_entries);
  EXPECT_EQ(dump.err, "");
  DumpRun verify = run_files({s.index.string(), s.time_index.string()}, {.verify_index_only = true});
  EXPECT_EQ(verify.code, dump_exit_ok) << verify.err;
  EXPECT_TRUE(lines_with(verify.out, "offset: ").empty()) << verify.out;
  DumpRun sanity = run_files({s.index.string(), s.time_index.string()}, {.index_sanity_check = true});
  EXPECT_EQ(sanity.code, dump_exit_ok) << sanity.out;
  EXPECT_EQ(lines_with(sanity.out, "passed sanity check.").size(), 2u) << sanity.out;
  DumpRun log = run_files({s.log.string()}, {.deep_iteration = true});
  EXPECT_EQ(log.code, dump_exit_ok) << log.err;
  EXPECT_TRUE(contains(log.out, "Summary: batches: 60 records: 180 firstOffset: 0 lastOffset: 179")) << log.out;
}

TEST(DumpLog, CorruptedOffsetIndexEntriesAreCaught) {
  test::TempDir dir, copy;
  SegmentFiles good = write_real_segment(dir.path());
  SegmentFiles bad;
  auto check = [&](const char* what, auto&& corrupt, const std::string& expected) {
    copy_segment(good, copy.path(), &bad);
    auto bytes = read_bytes(bad.index);
    corrupt(bytes);
    write_file(bad.index, bytes);
    DumpRun r = run_files({bad.index.string()}, {.verify_index_only = true});
    EXPECT_EQ(r.code, dump_exit_problem) << what;
    EXPECT_TRUE(contains(r.err, expected)) << what << ": " << r.err;
  };
  // A position one byte into the batch: no valid batch starts there.
  check("position", [](std::vector<std::byte>& b) { store_be32(b.data() + 12, load_be32(b.data() + 12) + 1); },
        "log offset: -1 (position ");
  // An offset one above the batch's last offset.
  check("offset", [](std::vector<std::byte>& b) { store_be32(b.data() + 16, load_be32(b.data() + 16) + 1); },
        "Mismatches in :");
  // Two entries swapped: the order breaks (and each still matches its batch).
  check("order", [](std::vector<std::byte>& b) { std::swap_ranges(b.data() + 8, b.data() + 16, b.data() + 16); },
        "Found non-increasing entries in :");
  // A position past the end of the log.
  check("past end", [](std::vector<std::byte>& b) { store_be32(b.data() + 4, 0x7fffffff); },
        "position is at or past the end of the log");
  // A partial trailing entry.
  check("trailing", [](std::vector<std::byte>& b) { b.push_back(std::byte{1}); }, "1 trailing bytes");
  // The sanity check the broker runs catches the swap too.
  copy_segment(good, copy.path(), &bad);
  auto bytes = read_bytes(bad.index);
  std::swap_ranges(bytes.data() + 8, bytes.data() + 16, bytes.data() + 16);
  write_file(bad.index, bytes);
  DumpRun sanity = run_files({bad.index.string()}, {.index_sanity_check = true});
  EXPECT_EQ(sanity.code, dump_exit_problem);
  EXPECT_TRUE(contains(sanity.out, "failed sanity check: entry 2")) << sanity.out;
}

TEST(DumpLog, CorruptedTimeIndexEntriesAreCaught) {
  test::TempDir dir, copy;
  SegmentFiles good = write_real_segment(dir.path());
  SegmentFiles bad;
  copy_segment(good, copy.path(), &bad);
  auto bytes = read_bytes(bad.time_index);
  store_be64(bytes.data() + 12, load_be64(bytes.data() + 12) + 5);  // entry 1's timestamp
  write_file(bad.time_index, bytes);
  DumpRun r = run_files({bad.time_index.string()}, {.verify_index_only = true});
  EXPECT_EQ(r.code, dump_exit_problem);
  EXPECT_TRUE(contains(r.err, "Found timestamp mismatch in :" + fs::absolute(bad.time_index).string())) << r.err;
  const std::int64_t ts = static_cast<std::int64_t>(load_be64(bytes.data() + 12));
  EXPECT_TRUE(contains(r.err, "Index timestamp: " + std::to_string(ts) + ", log timestamp: " + std::to_string(ts - 5)))
      << r.err;

  copy_segment(good, copy.path(), &bad);
  bytes = read_bytes(bad.time_index);
  store_be64(bytes.data() + 24, 1);  // entry 2 older than entry 1
  write_file(bad.time_index, bytes);
  r = run_files({bad.time_index.string()}, {.verify_index_only = true});
  EXPECT_EQ(r.code, dump_exit_problem);
  EXPECT_TRUE(contains(r.err, "Found out of order timestamp in :")) << r.err;
  DumpRun sanity = run_files({bad.time_index.string()}, {.index_sanity_check = true});
  EXPECT_EQ(sanity.code, dump_exit_problem) << sanity.out;

  copy_segment(good, copy.path(), &bad);
  bytes = read_bytes(bad.time_index);
  store_be32(bytes.data() + 20, load_be32(bytes.data() + 20) - 1);  // entry 1's offset inside its batch
  write_file(bad.time_index, bytes);
  r = run_files({bad.time_index.string()}, {.verify_index_only = true});
  EXPECT_EQ(r.code, dump_exit_problem);
  EXPECT_TRUE(contains(r.err, "The following indexed offsets are not found in the log")) << r.err;
}

TEST(DumpLog, PreallocatedZeroTailIsNotAProblem) {
  // An active segment's index is preallocated: entries after the real ones are zero. Kafka's tool
  // stops there; so do we, and say how many unused entries follow.
  test::TempDir dir;
  SegmentFiles s = write_real_segment(dir.path());
  auto bytes = read_bytes(s.index);
  const std::size_t entries = bytes.size() / 8;
  bytes.resize(bytes.size() + 8 * 100);
  write_file(s.index, bytes);
  DumpRun r = run_files({s.index.string()});
  EXPECT_EQ(r.code, dump_exit_ok) << r.err;
  EXPECT_TRUE(contains(r.out, "Entries from " + std::to_string(entries) + " on are zero")) << r.out;
  DumpRun verify = run_files({s.index.string()}, {.verify_index_only = true});
  EXPECT_EQ(verify.code, dump_exit_ok) << verify.err;
  EXPECT_TRUE(run_files({(dir.path() / "00000000000000000077.index").string()}).code == dump_exit_unreadable);
}

TEST(DumpLog, EmptyIndexSaysSo) {
  test::TempDir dir;
  write_file(dir.path() / "00000000000000000000.index", std::string());
  DumpRun r = run_files({(dir.path() / "00000000000000000000.index").string()});
  EXPECT_EQ(r.code, dump_exit_ok);
  EXPECT_TRUE(contains(r.out, "00000000000000000000.index is empty.")) << r.out;
}

// ---------------------------------------------------------------- state files

TEST(DumpLog, ProducerSnapshotEntries) {
  test::TempDir dir;
  storage::ProducerStateTable table;
  RecordBatchHeader h;
  h.producer_id = 7;
  h.producer_epoch = 1;
  h.base_sequence = 0;
  h.last_offset_delta = 2;
  h.record_count = 3;
  h.base_offset = 10;
  h.max_timestamp = 5555;
  table.update(h);
  const fs::path path = dir.path() / "00000000000000000013.snapshot";
  write_file(path, table.encode_snapshot());
  DumpRun r = run_files({path.string()});
  EXPECT_EQ(r.code, dump_exit_ok) << r.err;
  EXPECT_TRUE(contains(r.out, "producerId: 7 producerEpoch: 1 coordinatorEpoch: -1 currentTxnFirstOffset: "
                              "OptionalLong.empty lastTimestamp: 5555 firstSequence: 0 lastSequence: 2 lastOffset: 12 "
                              "offsetDelta: 2 timestamp: 5555\n")) << r.out;
  auto bytes = read_bytes(path);
  bytes.back() = static_cast<std::byte>(static_cast<int>(bytes.back()) ^ 1);
  write_file(path, bytes);
  r = run_files({path.string()});
  EXPECT_EQ(r.code, dump_exit_problem);
  EXPECT_TRUE(contains(r.err, "Snapshot is corrupt (CRC is no longer valid)")) << r.err;
}

TEST(DumpLog, CheckpointsAndMetadataFiles) {
  test::TempDir dir;
  ASSERT_TRUE(storage::write_offset_checkpoint(dir.path() / storage::recovery_point_checkpoint_file,
                                               {{{"orders", 2}, 41}, {{"a-b", 0}, 7}}).is_ok());
  const fs::path partition = dir.path() / "orders-2";
  fs::create_directories(partition);
  ASSERT_TRUE(storage::write_leader_epoch_checkpoint(partition / storage::leader_epoch_checkpoint_file,
                                                     {{0, 0}, {3, 100}}).is_ok());
  Uuid id = Uuid::random();
  ASSERT_TRUE(storage::write_partition_metadata(partition, id).is_ok());
  DumpRun r = run_files({(dir.path() / storage::recovery_point_checkpoint_file).string(),
                     (partition / storage::leader_epoch_checkpoint_file).string(),
                     (partition / storage::partition_metadata_file).string()});
  EXPECT_EQ(r.code, dump_exit_ok) << r.err;
  EXPECT_TRUE(contains(r.out, "orders-2: 41\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "a-b-0: 7\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "epoch: 3 startOffset: 100\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "topic_id: " + id.to_base64() + "\n")) << r.out;
  write_file(dir.path() / storage::replication_offset_checkpoint_file, std::string("0\n5\nonly one line\n"));
  r = run_files({(dir.path() / storage::replication_offset_checkpoint_file).string()});
  EXPECT_EQ(r.code, dump_exit_problem) << r.out;
  r = run_files({(dir.path() / storage::log_start_offset_checkpoint_file).string()});
  EXPECT_EQ(r.code, dump_exit_unreadable) << "a missing checkpoint is reported, not shown as empty";
}

TEST(DumpLog, UnknownAndMissingFiles) {
  test::TempDir dir;
  write_file(dir.path() / "notes.txt", std::string("hello"));
  DumpRun r = run_files({(dir.path() / "notes.txt").string()});
  EXPECT_EQ(r.code, dump_exit_unreadable);
  EXPECT_TRUE(contains(r.err, "Ignoring unknown file")) << r.err;
  r = run_files({(dir.path() / "00000000000000000000.log").string()});
  EXPECT_EQ(r.code, dump_exit_unreadable);
  // A file on its way out (.deleted) is dumped as its inner type.
  write_file(dir.path() / "00000000000000000000.log.deleted", make_batch({}, simple_records(1)));
  r = run_files({(dir.path() / "00000000000000000000.log.deleted").string()});
  EXPECT_EQ(r.code, dump_exit_ok) << r.err;
  EXPECT_TRUE(contains(r.out, "baseOffset: 0 lastOffset: 0 count: 1")) << r.out;
}

// ---------------------------------------------------------------- options

TEST(DumpLog, ParsesKafkasOptions) {
  std::vector<std::string> args = {"dump", "--files", "a.log,b.index", "c.timeindex", "--print-data-log",
                                   "--max-message-size=1000", "--max-bytes", "77"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  DumpLogOptions o;
  std::string error;
  bool help = false;
  ASSERT_TRUE(parse_dump_log_options(static_cast<int>(argv.size()), argv.data(), &o, &error, &help)) << error;
  EXPECT_EQ(o.files, (std::vector<std::string>{"a.log", "b.index", "c.timeindex"}));
  EXPECT_TRUE(o.print_data_log);
  EXPECT_TRUE(o.deep_iteration) << "implied by --print-data-log";
  EXPECT_EQ(o.message_bytes_max, 1000u);
  EXPECT_EQ(o.log_bytes_max, 77u);
  for (std::vector<std::string> bad : {std::vector<std::string>{"dump"}, {"dump", "--max-message-size", "x", "a.log"},
                                       {"dump", "--bogus", "a.log"}, {"dump", "--files"},
                                       {"dump", "--value-decoder-class", "a.log"}}) {
    std::vector<char*> v;
    for (auto& a : bad) v.push_back(a.data());
    DumpLogOptions options;
    EXPECT_FALSE(parse_dump_log_options(static_cast<int>(v.size()), v.data(), &options, &error, &help)) << bad.back();
    EXPECT_FALSE(error.empty());
    EXPECT_FALSE(help);
  }
  std::vector<std::string> h = {"dump", "--help"};
  std::vector<char*> hv = {h[0].data(), h[1].data()};
  DumpLogOptions options;
  EXPECT_FALSE(parse_dump_log_options(2, hv.data(), &options, &error, &help));
  EXPECT_TRUE(help);
  EXPECT_TRUE(contains(dump_log_usage("dump"), "Exit codes:"));
}

// ---------------------------------------------------------------- robustness

TEST(DumpLog, GarbageAndMutatedFilesNeverCrash) {
  // Random bytes, and a real segment's files with random flips and cuts, through every mode.
  // The tool must return one of its exit codes each time (a crash or assertion fails the test
  // binary). Prints its seed; SLUICE_SEED=<n> replays a run.
  std::uint32_t seed = std::random_device{}();
  if (const char* given = std::getenv("SLUICE_SEED")) seed = static_cast<std::uint32_t>(std::strtoul(given, nullptr, 10));
  std::printf("DumpLog garbage seed %u (SLUICE_SEED=%u replays)\n", seed, seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  test::TempDir source, dir;
  SegmentFiles good = write_real_segment(source.path());
  const std::vector<std::string> names = {
      "00000000000000000000.log",       "00000000000000000000.index",  "00000000000000000000.timeindex",
      "00000000000000000000.snapshot",  "00000000000000000000.txnindex", "leader-epoch-checkpoint",
      "recovery-point-offset-checkpoint", "partition.metadata",          "meta.properties"};
  const std::vector<DumpLogOptions> modes = {
      {}, {.deep_iteration = true, .print_data_log = true}, {.deep_iteration = true, .print_data_log = true, .offsets_decoder = true},
      {.verify_index_only = true}, {.index_sanity_check = true}, {.message_bytes_max = 100}};
  for (int round = 0; round < 60; ++round) {
    SegmentFiles s;
    copy_segment(good, dir.path(), &s);
    for (const fs::path& path : {s.log, s.index, s.time_index}) {
      auto bytes = read_bytes(path);
      const int flips = static_cast<int>(rng() % 8);
      for (int f = 0; f < flips && !bytes.empty(); ++f) bytes[rng() % bytes.size()] = static_cast<std::byte>(rng());
      if (rng() % 3 == 0 && !bytes.empty()) bytes.resize(rng() % bytes.size());
      write_file(path, bytes);
    }
    for (const auto& name : names) {
      if (name.find(".log") != std::string::npos || name.find("index") != std::string::npos) {
        if (round % 4 != 0) continue;  // keep the mutated segment most rounds
      }
      std::vector<std::byte> garbage(rng() % 600);
      for (auto& b : garbage) b = static_cast<std::byte>(rng());
      if (!garbage.empty() && rng() % 2 == 0) garbage[16 % garbage.size()] = std::byte{2};  // magic 2
      write_file(dir.path() / name, garbage);
    }
    std::vector<std::string> files;
    for (const auto& name : names) files.push_back((dir.path() / name).string());
    for (const auto& mode : modes) {
      DumpRun r = run_files(files, mode);
      EXPECT_TRUE(r.code == dump_exit_ok || r.code == dump_exit_problem || r.code == dump_exit_unreadable) << r.code;
    }
  }
  // Batches with consistent framing but random header fields (counts, deltas, offsets near the
  // int64 limits, codecs 0-7) and random or mutated-compressed payloads, CRC fixed or not.
  const fs::path random_log = dir.path() / "00000000000000000000.log";
  for (int round = 0; round < 200; ++round) {
    std::vector<std::byte> segment;
    for (int n = 1 + static_cast<int>(rng() % 4); n > 0; --n) {
      auto batch = make_batch({.codec = static_cast<int>(rng() % 5)}, simple_records(1 + static_cast<int>(rng() % 5)));
      for (std::size_t field : {0u, 12u, 21u, 23u, 27u, 35u, 43u, 51u, 53u, 57u})
        if (rng() % 3 == 0) store_be32(batch.data() + field + (field == 21 || field == 51 ? 0 : rng() % 2 * 4), rng());
      for (std::size_t i = 61; i < batch.size(); ++i)
        if (rng() % 16 == 0) batch[i] = static_cast<std::byte>(rng());
      if (rng() % 2 == 0) store_be32(batch.data() + 17, crc32c(batch.data() + 21, batch.size() - 21));
      segment.insert(segment.end(), batch.begin(), batch.end());
    }
    write_file(random_log, segment);
    DumpRun r = run_files({random_log.string()}, {.offsets_decoder = rng() % 2 == 0});
    EXPECT_TRUE(r.code == dump_exit_ok || r.code == dump_exit_problem) << r.code << r.err;
  }
  // Every prefix of a small valid segment: a clean dump or a reported tail, never more.
  auto segment = concat({make_batch({.codec = 1}, simple_records(3)), make_batch({.base_offset = 3}, simple_records(2))});
  const fs::path log = dir.path() / "00000000000000000000.log";
  for (std::size_t cut = 0; cut <= segment.size(); ++cut) {
    write_file(log, std::vector<std::byte>(segment.begin(), segment.begin() + static_cast<std::ptrdiff_t>(cut)));
    DumpRun r = run_files({log.string()}, {.print_data_log = true});
    const bool whole = cut == 0 || cut == segment.size() ||
                       cut == static_cast<std::size_t>(parse_record_batch_header(segment.data()).batch_bytes());
    EXPECT_EQ(r.code, whole ? dump_exit_ok : dump_exit_problem) << cut;
  }
}

}  // namespace
}  // namespace sluice::tools
