// The per-byte work a produce request costs the broker (CRC-32C check, batch validation, codec)
// next to memcpy of the same bytes, the floor any user-space pass over the data pays.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "base/crc32c.h"
#include "protocol/codec.h"
#include "protocol/produce.h"
#include "protocol/record_batch.h"
#include "protocol/records.h"

namespace {

// One uncompressed batch of `records` records of `value_bytes` each, with a valid CRC.
std::vector<std::byte> make_batch(int records, int value_bytes) {
  std::vector<sluice::protocol::RecordToWrite> batch(static_cast<std::size_t>(records));
  for (auto& record : batch) record.value = std::vector<std::byte>(static_cast<std::size_t>(value_bytes), std::byte{'v'});
  return sluice::protocol::build_record_batch(batch, 1700000000000);
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
