// Log compaction throughput (MB/s of log cleaned: Cleaner::prepare reads the segments twice, once
// for the offset map and once to rewrite them, decompresses, filters, recompresses with the
// batch's codec, writes and syncs the new segments) next to the floor: a plain sequential read of
// the same segment files and a write + fdatasync of the same bytes. The log: 1 KiB values, 16
// records a batch, keys drawn from 10% as many unique keys as records; uncompressed, lz4 and zstd.
// Cleaning runs on a log flushed to disk, from the page cache (the files were just written).
// Rates are by wall time (UseRealTime): the syncs and the I/O count.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "base/endian.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"
#include "storage/cleaner.h"
#include "storage/log.h"
#include "storage/segment.h"

namespace {

using namespace sluice;
using namespace sluice::storage;

constexpr std::size_t log_bytes_target = 48 << 20;
constexpr int records_per_batch = 16;
constexpr int value_bytes = 1024;

void put_varlong(std::vector<std::byte>& out, std::int64_t value) {
  std::uint64_t raw = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  while (raw >= 0x80) out.push_back(static_cast<std::byte>((raw & 0x7f) | 0x80)), raw >>= 7;
  out.push_back(static_cast<std::byte>(raw));
}

// Text-like values (a 16-letter alphabet), so the codecs have something to do.
std::vector<std::byte> make_batch(int codec, std::mt19937_64& random, int unique_keys) {
  std::vector<std::byte> area;
  for (int i = 0; i < records_per_batch; ++i) {
    std::vector<std::byte> body{std::byte{0}};
    put_varlong(body, i);
    put_varlong(body, i);
    std::string key = "key-" + std::to_string(random() % static_cast<std::uint64_t>(unique_keys));
    put_varlong(body, static_cast<std::int64_t>(key.size()));
    for (char c : key) body.push_back(static_cast<std::byte>(c));
    put_varlong(body, value_bytes);
    for (int j = 0; j < value_bytes; ++j) body.push_back(static_cast<std::byte>('a' + random() % 16));
    put_varlong(body, 0);
    put_varlong(area, static_cast<std::int64_t>(body.size()));
    area.insert(area.end(), body.begin(), body.end());
  }
  std::vector<std::byte> payload = codec == 0 ? area : compress_records(codec, area).value();
  std::vector<std::byte> batch(record_batch_header_bytes + payload.size());
  std::byte* p = batch.data();
  store_be32(p + 8, static_cast<std::uint32_t>(batch.size() - 12));
  p[16] = std::byte{2};
  store_be16(p + 21, static_cast<std::uint16_t>(codec));
  store_be32(p + 23, records_per_batch - 1);
  store_be64(p + 27, 1'700'000'000'000ULL);
  store_be64(p + 35, 1'700'000'000'000ULL + records_per_batch - 1);
  store_be64(p + 43, static_cast<std::uint64_t>(-1));
  store_be16(p + 51, static_cast<std::uint16_t>(-1));
  store_be32(p + 53, static_cast<std::uint32_t>(-1));
  store_be32(p + 57, records_per_batch);
  std::copy(payload.begin(), payload.end(), batch.begin() + record_batch_header_bytes);
  store_be32(p + 17, crc32c(p + 21, batch.size() - 21));
  return batch;
}

struct BenchLog {
  std::filesystem::path dir;
  std::unique_ptr<Log> log;
  std::uint64_t sealed_bytes = 0;
  ~BenchLog() {
    log.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::unique_ptr<BenchLog> make_log(int codec) {
  auto bench = std::make_unique<BenchLog>();
  std::string pattern = (std::filesystem::temp_directory_path() / "sluice-cleaner-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  bench->dir = pattern;
  LogConfig config;
  config.segment_bytes = 8 << 20;
  bench->log = std::move(Log::open(bench->dir, config, 0, true)).value();
  std::mt19937_64 random(42);
  const int unique_keys = static_cast<int>(log_bytes_target / (value_bytes + 20) / 10);  // 10% of the records
  // The codecs shrink the text about 2x: write a fixed number of records, not bytes.
  const std::size_t batches = log_bytes_target / (records_per_batch * (value_bytes + 20));
  for (std::size_t i = 0; i < batches; ++i) {
    auto batch = make_batch(codec, random, unique_keys);
    if (!bench->log->append(batch, 0, 1'700'000'000'000LL).is_ok()) std::abort();
  }
  bench->log->set_high_watermark(bench->log->log_end_offset());
  if (!bench->log->flush().is_ok()) std::abort();
  auto snapshot = bench->log->segments();
  for (std::size_t i = 0; i + 1 < snapshot->segments.size(); ++i) bench->sealed_bytes += snapshot->segments[i]->committed_bytes();
  return bench;
}

void BM_clean(benchmark::State& state) {
  const int codec = static_cast<int>(state.range(0));
  auto bench = make_log(codec);
  CleanerConfig config;
  config.dedupe_buffer_bytes = 32 << 20;
  Cleaner cleaner(config, nullptr);
  CleanRequest request;
  request.now_ms = 1'700'000'100'000LL;
  request.segment_bytes = 8 << 20;
  CleanStats stats;
  for (auto _ : state) {
    // prepare does all the heavy work; the plan is dropped (its files deleted), so every
    // iteration cleans the same dirty log.
    auto plan = cleaner.prepare(*bench->log, request);
    if (!plan.is_ok() || plan.value().empty()) {
      state.SkipWithError("prepare failed");
      return;
    }
    stats = plan.value().stats;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bench->sealed_bytes));
  state.counters["log_MB"] = double(bench->sealed_bytes) / 1e6;
  state.counters["written_MB"] = double(stats.bytes_written) / 1e6;
  state.counters["kept_pct"] = 100.0 * double(stats.records_kept) / double(std::max<std::uint64_t>(stats.records_read, 1));
  state.counters["map_ms"] = double(stats.map_duration_ns) / 1e6;
}

// The floor: read every sealed segment sequentially (1 MiB preads) and write the same bytes to a
// new file, then fdatasync it.
void BM_read_write_baseline(benchmark::State& state) {
  const int codec = static_cast<int>(state.range(0));
  auto bench = make_log(codec);
  auto snapshot = bench->log->segments();
  std::vector<std::byte> buffer(1 << 20);
  auto out_path = bench->dir / "baseline.out";
  for (auto _ : state) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    std::uint64_t written = 0;
    for (std::size_t i = 0; i + 1 < snapshot->segments.size(); ++i) {
      const Segment& segment = *snapshot->segments[i];
      for (std::uint64_t position = 0; position < segment.committed_bytes();) {
        auto got = pread_full(segment.file()->fd(), buffer.data(), buffer.size(), position);
        if (!got.is_ok() || got.value() == 0) break;
        if (::pwrite(out, buffer.data(), got.value(), static_cast<off_t>(written)) < 0) std::abort();
        position += got.value();
        written += got.value();
      }
    }
    ::fdatasync(out);
    ::close(out);
    ::unlink(out_path.c_str());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bench->sealed_bytes));
}

BENCHMARK(BM_read_write_baseline)->Arg(0)->ArgName("codec")->Unit(benchmark::kMillisecond)->Iterations(5)->UseRealTime();
BENCHMARK(BM_clean)->Arg(0)->Arg(3)->Arg(4)->ArgName("codec")->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
