// The per-byte work a produce request costs the broker (CRC-32C check, batch validation, codec)
// next to memcpy of the same bytes, the floor any user-space pass over the data pays.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "base/crc32c.h"
#include "base/endian.h"
#include "protocol/codec.h"
#include "protocol/produce.h"
#include "protocol/record_batch.h"

namespace {

void put_varint(std::vector<std::byte>& out, std::int64_t v) {
  std::uint64_t zigzag = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  while (zigzag >= 0x80) {
    out.push_back(static_cast<std::byte>((zigzag & 0x7f) | 0x80));
    zigzag >>= 7;
  }
  out.push_back(static_cast<std::byte>(zigzag));
}

// One uncompressed batch of `records` records of `value_bytes` each, with a valid CRC.
std::vector<std::byte> make_batch(int records, int value_bytes) {
  std::vector<std::byte> batch(61);
  for (int i = 0; i < records; ++i) {
    std::vector<std::byte> record;
    record.push_back(std::byte{0});  // attributes
    put_varint(record, 0);           // timestamp delta
    put_varint(record, i);           // offset delta
    put_varint(record, -1);          // null key
    put_varint(record, value_bytes);
    record.resize(record.size() + static_cast<std::size_t>(value_bytes), std::byte{'v'});
    put_varint(record, 0);  // no headers
    put_varint(batch, static_cast<std::int64_t>(record.size()));
    std::size_t at = batch.size();
    batch.resize(at + record.size());
    std::memcpy(batch.data() + at, record.data(), record.size());
  }
  std::byte* p = batch.data();
  sluice::store_be64(p + 0, 0);
  sluice::store_be32(p + 8, static_cast<std::uint32_t>(batch.size() - 12));
  sluice::store_be32(p + 12, 0);
  p[16] = std::byte{2};
  sluice::store_be16(p + 21, 0);
  sluice::store_be32(p + 23, static_cast<std::uint32_t>(records - 1));
  sluice::store_be64(p + 27, 1700000000000ull);
  sluice::store_be64(p + 35, 1700000000000ull);
  sluice::store_be64(p + 43, static_cast<std::uint64_t>(-1));
  sluice::store_be16(p + 51, static_cast<std::uint16_t>(-1));
  sluice::store_be32(p + 53, static_cast<std::uint32_t>(-1));
  sluice::store_be32(p + 57, static_cast<std::uint32_t>(records));
  sluice::store_be32(p + 17, sluice::compute_record_batch_crc(p, batch.size()));
  return batch;
}

void BM_memcpy_baseline(benchmark::State& state) {
  auto batch = make_batch(static_cast<int>(state.range(0)), 1000);
  std::vector<std::byte> target(batch.size());
  for (auto _ : state) {
    std::memcpy(target.data(), batch.data(), batch.size());
    benchmark::DoNotOptimize(target.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
}

void BM_crc32c(benchmark::State& state) {
  auto batch = make_batch(static_cast<int>(state.range(0)), 1000);
  for (auto _ : state) benchmark::DoNotOptimize(sluice::crc32c(batch.data(), batch.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
}

void BM_validate_batch(benchmark::State& state) {
  auto batch = make_batch(static_cast<int>(state.range(0)), 1000);
  sluice::BatchLimits limits{64u << 20};
  for (auto _ : state) {
    sluice::BatchesInfo info;
    auto error = sluice::validate_record_batches(batch, limits, &info);
    if (error != sluice::ErrorCode::none) state.SkipWithError("invalid batch");
    benchmark::DoNotOptimize(info);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
}

void BM_decode_produce_request(benchmark::State& state) {
  auto batch = make_batch(static_cast<int>(state.range(0)), 1000);
  sluice::protocol::ProduceRequest request;
  request.acks = 1;
  request.timeout_ms = 30000;
  auto& topic = request.topics.emplace_back();
  topic.name = "bench";
  auto& partition = topic.partitions.emplace_back();
  partition.records.is_null = false;
  partition.records.bytes = batch;
  sluice::protocol::Writer writer;
  sluice::protocol::encode(writer, request, 9);
  auto bytes = writer.buffer();
  for (auto _ : state) {
    sluice::protocol::Reader reader(bytes.data(), bytes.size());
    sluice::protocol::ProduceRequest decoded;
    bool ok = sluice::protocol::decode(reader, decoded, 9);
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

BENCHMARK(BM_memcpy_baseline)->Arg(16)->Arg(1000);
BENCHMARK(BM_crc32c)->Arg(16)->Arg(1000);
BENCHMARK(BM_validate_batch)->Arg(16)->Arg(1000);
BENCHMARK(BM_decode_produce_request)->Arg(16)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
