// Writes the seed corpus of every fuzz target (tests/fuzz/corpus/<target>/), each seed a real input
// made by our own encoders, in the input format of its target:
//   <request>         byte 0 = version - version_min, then the body: every version, with every
//                     field filled (Filler below), plus the all-defaults body at the ends of the range
//   request_header    whole frames (header + filled body) of every api at its min, first flexible
//                     and max version
//   record_batch      config byte 0, then batches from build_record_batch and compressed batches
//   compression       codec byte, bound byte (1 MiB), then a payload compressed as clients do
//   consumer_offsets  has-value byte, key length (2 bytes), key, value: the records we write
// Usage: corpus_gen <directory>   (tools/test does not run it; rerun it by hand when a message
// gains a version: build-fuzz/tests/fuzz/corpus_gen tests/fuzz/corpus)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "compressors.h"
#include "fuzz_support.h"
#include "protocol/consumer_offsets.h"
#include "protocol/record_batch.h"
#include "protocol/records.h"
#include "requests.h"

namespace sluice::fuzz {
namespace {

using Bytes = std::vector<std::byte>;

Bytes bytes_of(const std::string& text) {
  auto p = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(p, p + text.size());
}

Bytes sample_batch() {
  std::vector<protocol::RecordToWrite> records;
  records.push_back({bytes_of("key-0"), bytes_of("value-0")});
  records.push_back({bytes_of("key-1"), std::nullopt});
  records.push_back({{}, bytes_of("value-2")});
  return protocol::build_record_batch(records, 1700000000000);
}

// Fills every field that exists at one version with a plausible value: two elements per array,
// tagged fields present, record batches real, so a seed reaches every part of the decoder.
class Filler {
 public:
  Filler(std::int16_t version, bool flexible) : version_(version), flexible_(flexible) {}

  template <class T>
  void field(T& value, protocol::Versions versions) {
    if (versions.contains(version_)) fill(value);
  }
  template <class T>
  void tagged(std::optional<T>& value, std::uint32_t, protocol::Versions versions) {
    if (!flexible_ || !versions.contains(version_)) return;
    value.emplace();
    fill(*value);
  }

  template <class T>
    requires protocol::MessageStruct<T>
  void fill(T& value) {
    value.visit(*this);
  }
  void fill(bool& v) { v = true; }
  void fill(std::int8_t& v) { v = 1; }
  void fill(std::int16_t& v) { v = static_cast<std::int16_t>(next()); }
  void fill(std::uint16_t& v) { v = static_cast<std::uint16_t>(next()); }
  void fill(std::int32_t& v) { v = next(); }
  void fill(std::int64_t& v) { v = std::int64_t{next()} * 1000; }
  void fill(double& v) { v = 0.5; }
  void fill(Uuid& v) {
    for (std::size_t i = 0; i < v.bytes.size(); ++i) v.bytes[i] = static_cast<std::uint8_t>(i + 1);
  }
  // Every other string is 130 bytes, so its compact length needs a two-byte uvarint.
  void fill(std::string& v) { v = text("name-"); }
  void fill(std::optional<std::string>& v) { v = text("id-"); }
  void fill(std::vector<std::byte>& v) { v = bytes_of(std::string("\x00\x03", 2) + text("bytes-")); }
  void fill(protocol::Records& v) {
    batches_.push_back(sample_batch());
    v.is_null = false;
    v.bytes = batches_.back();
  }
  template <class T>
  void fill(std::vector<T>& v) {
    v.resize(2);
    for (auto& element : v) fill(element);
  }
  template <class T>
  void fill(std::optional<std::vector<T>>& v) {
    v.emplace(1);
    fill(v->front());
  }

 private:
  std::int32_t next() { return ++counter_; }
  std::string text(const char* prefix) {
    std::int32_t n = next();
    std::string out = prefix + std::to_string(n);
    if (n % 2 == 1) out.resize(130, 'x');
    return out;
  }
  std::int16_t version_;
  bool flexible_;
  std::int32_t counter_ = 0;
  std::deque<Bytes> batches_;  // the bytes that filled Records fields point into
};

class CorpusWriter {
 public:
  explicit CorpusWriter(std::filesystem::path root) : root_(std::move(root)) {}
  void write(const std::string& target, const std::string& name, const Bytes& input) {
    auto directory = root_ / target;
    std::filesystem::create_directories(directory);
    std::ofstream out(directory / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
    FUZZ_CHECK(out.good(), "cannot write " + (directory / name).string());
    ++written_;
  }
  int written() const { return written_; }

 private:
  std::filesystem::path root_;
  int written_ = 0;
};

template <class Request>
Bytes filled_body(std::int16_t version) {
  Request request;
  Filler filler(version, version >= Request::flexible_min);
  filler.fill(request);
  return encode_bytes(request, version);  // the Records bytes are copied before filler goes
}

Bytes with_prefix(std::initializer_list<std::uint8_t> prefix, const Bytes& rest) {
  Bytes input;
  for (std::uint8_t b : prefix) input.push_back(static_cast<std::byte>(b));
  input.insert(input.end(), rest.begin(), rest.end());
  return input;
}

template <class Request>
void write_request_seeds(CorpusWriter& out, const std::string& target) {
  for (int v = Request::version_min; v <= Request::version_max; ++v) {
    auto version = static_cast<std::int16_t>(v);
    auto selector = static_cast<std::uint8_t>(v - Request::version_min);
    out.write(target, "v" + std::to_string(v), with_prefix({selector}, filled_body<Request>(version)));
    if (v == Request::version_min || v == Request::version_max)
      out.write(target, "v" + std::to_string(v) + "-default", with_prefix({selector}, encode_bytes(Request{}, version)));
  }
}

template <class Request>
Bytes frame(std::int16_t version) {
  protocol::Writer writer;
  writer.put_i16(static_cast<std::int16_t>(Request::api_key));
  writer.put_i16(version);
  writer.put_i32(42);
  const std::string client_id = "corpus-gen";
  writer.put_i16(static_cast<std::int16_t>(client_id.size()));
  writer.put_bytes(client_id.data(), client_id.size());
  if (version >= Request::flexible_min) writer.put_uvarint(0);
  Bytes body = filled_body<Request>(version);
  writer.put_bytes(body.data(), body.size());
  return std::move(writer.buffer());
}

template <class Request>
void write_frame_seeds(CorpusWriter& out, const std::string& name) {
  for (int v : {int{Request::version_min}, int{Request::flexible_min}, int{Request::version_max}}) {
    if (v < Request::version_min || v > Request::version_max) continue;
    out.write("request_header", name + "-v" + std::to_string(v), frame<Request>(static_cast<std::int16_t>(v)));
  }
}

void write_record_batch_seeds(CorpusWriter& out) {
  out.write("record_batch", "plain", with_prefix({0}, sample_batch()));
  out.write("record_batch", "one-record",
            with_prefix({0}, protocol::build_record_batch({{bytes_of("k"), bytes_of("v")}}, 1700000000000)));
  Bytes log_append = sample_batch();
  set_log_append_time(log_append.data(), log_append.size(), 1700000000123);
  out.write("record_batch", "log-append-time", with_prefix({0}, log_append));
  const char* names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  for (int codec = 0; codec <= 4; ++codec) {
    Bytes batch = test::build_compressed_batch(codec, 1700000000000, {0, 7, 3});
    out.write("record_batch", std::string("codec-") + names[codec], with_prefix({0}, batch));
  }
  // The same batch with the patch bits set (config 0x0c: batchLength and CRC are recomputed).
  out.write("record_batch", "patched", with_prefix({0x0c}, sample_batch()));
}

void write_compression_seeds(CorpusWriter& out) {
  std::vector<std::int64_t> deltas(20);
  for (std::size_t i = 0; i < deltas.size(); ++i) deltas[i] = static_cast<std::int64_t>(i * 3);
  Bytes records = test::build_records(deltas, 40);
  const std::uint8_t bound_1mib = 5;
  out.write("compression", "gzip", with_prefix({1, bound_1mib}, test::gzip_compress(records)));
  Bytes two_members = test::gzip_compress(records);
  Bytes second = test::gzip_compress(bytes_of("tail"));
  two_members.insert(two_members.end(), second.begin(), second.end());
  out.write("compression", "gzip-two-members", with_prefix({1, bound_1mib}, two_members));
  out.write("compression", "snappy-xerial", with_prefix({2, bound_1mib}, test::snappy_xerial_compress(records, 256)));
  out.write("compression", "snappy-raw",
            with_prefix({2, bound_1mib}, test::snappy_raw_compress(records.data(), records.size())));
  out.write("compression", "lz4", with_prefix({3, bound_1mib}, test::lz4_frame_compress(records)));
  out.write("compression", "zstd", with_prefix({4, bound_1mib}, test::zstd_compress(records, false)));
  out.write("compression", "zstd-content-size", with_prefix({4, bound_1mib}, test::zstd_compress(records, true)));
  out.write("compression", "zstd-small-bound", with_prefix({4, 3}, test::zstd_compress(records, true)));
}

Bytes offsets_input(const Bytes& key, const std::optional<Bytes>& value) {
  Bytes input = with_prefix({static_cast<std::uint8_t>(value ? 1 : 0), static_cast<std::uint8_t>(key.size() >> 8),
                             static_cast<std::uint8_t>(key.size() & 0xff)},
                            key);
  if (value) input.insert(input.end(), value->begin(), value->end());
  return input;
}

template <class Message>
Bytes versioned(const Message& message, std::int16_t version) {
  protocol::Writer writer;
  writer.put_i16(version);
  protocol::encode(writer, message, version);
  return std::move(writer.buffer());
}

void write_consumer_offsets_seeds(CorpusWriter& out) {
  Bytes commit_key = protocol::encode_offset_commit_key("group-a", "topic-a", 3);
  out.write("consumer_offsets", "commit-v3",
            offsets_input(commit_key, protocol::encode_offset_commit_value(42, 5, "meta", 1700000000000, std::nullopt)));
  out.write("consumer_offsets", "commit-v1",
            offsets_input(commit_key, protocol::encode_offset_commit_value(42, 5, "", 1700000000000, 1700000600000)));
  out.write("consumer_offsets", "commit-tombstone", offsets_input(commit_key, std::nullopt));
  protocol::OffsetCommitKey key;
  key.group = "group-b";
  key.topic = "topic-b";
  key.partition = 0;
  protocol::OffsetCommitValue value;
  value.offset = 7;
  value.metadata = "m";
  value.commit_timestamp = 1700000000000;
  for (std::int16_t v : {0, 2, 4})
    out.write("consumer_offsets", "commit-key-v0-value-v" + std::to_string(v),
              offsets_input(versioned(key, 0), versioned(value, v)));

  protocol::GroupMetadataValue group;
  Filler filler(3, false);
  filler.fill(group);
  Bytes group_key = protocol::encode_group_metadata_key("group-c");
  for (int v = protocol::GroupMetadataValue::version_min; v <= protocol::GroupMetadataValue::version_max; ++v) {
    out.write("consumer_offsets", "group-v" + std::to_string(v),
              offsets_input(group_key, protocol::encode_group_metadata_value(group, static_cast<std::int16_t>(v))));
  }
  out.write("consumer_offsets", "group-empty", offsets_input(group_key, protocol::encode_group_metadata_value({})));
  out.write("consumer_offsets", "group-tombstone", offsets_input(group_key, std::nullopt));
  // Key version 3 and up: record types of newer coordinators, skipped by the loader.
  out.write("consumer_offsets", "unknown-key-v3", offsets_input(with_prefix({0, 3}, bytes_of(std::string("\x00\x01x", 3))), Bytes{}));
}

}  // namespace
}  // namespace sluice::fuzz

int main(int argc, char** argv) {
  using namespace sluice::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  CorpusWriter out(argv[1]);
#define SLUICE_FUZZ_SEEDS(name, Type)                                   \
  write_request_seeds<sluice::protocol::Type>(out, #name);              \
  write_frame_seeds<sluice::protocol::Type>(out, #name);
  SLUICE_FUZZ_REQUESTS(SLUICE_FUZZ_SEEDS)
#undef SLUICE_FUZZ_SEEDS
  write_record_batch_seeds(out);
  write_compression_seeds(out);
  write_consumer_offsets_seeds(out);
  std::printf("corpus_gen: wrote %d seeds under %s\n", out.written(), argv[1]);
  return 0;
}
