// The per-request pieces of a fetch: finding the start position in a segment's offset index, and
// encoding a Fetch response whose records stay in the files (only the framing is built in memory).
// Each sits next to a baseline measured in the same run: std::lower_bound over the same entries in
// a plain vector, and memcpy of as many bytes as the encoder writes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>
#include <unistd.h>
#include <vector>

#include "protocol/codec.h"
#include "protocol/fetch.h"
#include "storage/index.h"

namespace {

namespace fs = std::filesystem;

// An offset index with `entries` entries, one every 10 offsets and 4 KiB, in a temporary file.
struct IndexFixture {
  fs::path dir;
  std::unique_ptr<sluice::storage::OffsetIndex> index;
  explicit IndexFixture(std::uint32_t entries) {
    dir = fs::temp_directory_path() / ("sluice-bench-index-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto opened = sluice::storage::OffsetIndex::open(dir / "00000000000000000000.index", 0, entries * 8 + 8, true);
    if (!opened.is_ok()) std::abort();
    index = std::move(opened).value();
    for (std::uint32_t i = 1; i <= entries; ++i) index->append(i * 10, i * 4096);
  }
  ~IndexFixture() {
    index.reset();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

std::vector<std::int64_t> random_targets(std::int64_t max, std::size_t count) {
  std::mt19937_64 random(42);
  std::uniform_int_distribution<std::int64_t> pick(0, max);
  std::vector<std::int64_t> targets(count);
  for (auto& target : targets) target = pick(random);
  return targets;
}

void BM_index_lookup(benchmark::State& state) {
  const auto entries = static_cast<std::uint32_t>(state.range(0));
  IndexFixture fixture(entries);
  auto targets = random_targets(std::int64_t{entries} * 10, 4096);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fixture.index->lookup(targets[i++ & 4095]));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_index_lookup_baseline_lower_bound(benchmark::State& state) {
  const auto entries = static_cast<std::uint32_t>(state.range(0));
  std::vector<std::int64_t> offsets(entries);
  for (std::uint32_t i = 0; i < entries; ++i) offsets[i] = (i + 1) * 10;
  auto targets = random_targets(std::int64_t{entries} * 10, 4096);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(std::upper_bound(offsets.begin(), offsets.end(), targets[i++ & 4095]));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// A Fetch v12 response for `partitions` partitions of one topic, each pointing at 64 KiB of a file.
sluice::protocol::FetchResponse fetch_response(int partitions) {
  sluice::protocol::FetchResponse response;
  auto& topic = response.responses.emplace_back();
  topic.topic = "bench-topic";
  for (int p = 0; p < partitions; ++p) {
    auto& partition = topic.partitions.emplace_back();
    partition.partition_index = p;
    partition.high_watermark = 1000000;
    partition.last_stable_offset = 1000000;
    partition.log_start_offset = 0;
    partition.records.is_null = false;
    partition.records.file_fd = 0;
    partition.records.file_position = 4096u * static_cast<unsigned>(p);
    partition.records.file_bytes = 65536;
  }
  return response;
}

void BM_encode_fetch_response(benchmark::State& state) {
  auto response = fetch_response(static_cast<int>(state.range(0)));
  std::size_t framing = 0;
  for (auto _ : state) {
    sluice::protocol::Writer writer;
    sluice::protocol::encode(writer, response, 12);
    framing = writer.buffer().size();
    benchmark::DoNotOptimize(writer.buffer().data());
  }
  state.counters["framing_bytes"] = static_cast<double>(framing);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

void BM_encode_baseline_memcpy(benchmark::State& state) {
  // The same number of bytes the encoder writes for this many partitions, copied.
  auto response = fetch_response(static_cast<int>(state.range(0)));
  sluice::protocol::Writer writer;
  sluice::protocol::encode(writer, response, 12);
  std::vector<std::byte> source(writer.buffer().begin(), writer.buffer().end()), target(source.size());
  for (auto _ : state) {
    std::memcpy(target.data(), source.data(), source.size());
    benchmark::DoNotOptimize(target.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

}  // namespace

BENCHMARK(BM_index_lookup)->Arg(1024)->Arg(262144);
BENCHMARK(BM_index_lookup_baseline_lower_bound)->Arg(1024)->Arg(262144);
BENCHMARK(BM_encode_fetch_response)->Arg(1)->Arg(100);
BENCHMARK(BM_encode_baseline_memcpy)->Arg(1)->Arg(100);
