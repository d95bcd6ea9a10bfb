// disk-write, fdatasync and open-files (see perf_limits.h).
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/assert.h"
#include "latency_histogram.h"
#include "perf_limits.h"
#include "perf_io.h"
#include "perf_json.h"

namespace sluice::perf {

namespace {

// One sustained disk-write run's measurements.
struct SustainedWrite {
  std::int64_t bytes = 0;
  std::int64_t elapsed_ns = 0;
  std::int64_t cpu_ns = 0;
  bool reached_byte_cap = false;
  // MB written in each second of the run, as MB/s; the last entry covers the run's remainder
  // (shorter than a second) and is scaled to a rate over that remainder.
  std::vector<double> per_second_mb;
};

double mb_per_s(std::int64_t bytes, std::int64_t ns) {
  return ns > 0 ? static_cast<double>(bytes) / (static_cast<double>(ns) / 1e9) / 1e6 : 0.0;
}

// Writes `buffer` again and again to fd until `duration_ns` has passed or `bytes_max` are
// written, whichever comes first, and records the bytes written in each second. No fsync: the
// figure is the rate at which the page cache takes buffered writes over a long run (on this VM
// it drops after 1-2 GB, when fresh page-cache pages become hypervisor first touches).
// Requires: duration_ns > 0, bytes_max > 0, !buffer.empty().
SustainedWrite write_for(int fd, const std::string& path, const std::vector<char>& buffer, std::int64_t duration_ns,
                         std::int64_t bytes_max) {
  SLUICE_ASSERT(duration_ns > 0);
  SLUICE_ASSERT(bytes_max > 0);
  SLUICE_ASSERT(!buffer.empty());
  SustainedWrite run;
  std::int64_t start = now_ns();
  std::int64_t cpu_start = process_cpu_ns();
  std::int64_t second_end = start + 1'000'000'000;
  std::int64_t second_bytes = 0;
  std::int64_t now = start;
  while (now - start < duration_ns && run.bytes < bytes_max) {
    std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(bytes_max - run.bytes, std::ssize(buffer)));
    ssize_t n = write(fd, buffer.data(), want);
    if (n != static_cast<ssize_t>(want)) fail("write %s: %s", path.c_str(), std::strerror(errno));
    run.bytes += n;
    second_bytes += n;
    now = now_ns();
    // A write that stalls past several second boundaries counts in the first; the seconds it
    // spanned get 0, so the array has one entry per elapsed second.
    while (now >= second_end) {
      run.per_second_mb.push_back(static_cast<double>(second_bytes) / 1e6);
      second_bytes = 0;
      second_end += 1'000'000'000;
    }
  }
  run.elapsed_ns = now - start;
  run.cpu_ns = process_cpu_ns() - cpu_start;
  run.reached_byte_cap = run.bytes >= bytes_max;
  std::int64_t remainder_ns = now - (second_end - 1'000'000'000);
  if (second_bytes > 0) run.per_second_mb.push_back(mb_per_s(second_bytes, remainder_ns));
  SLUICE_ASSERT(run.bytes > 0);
  SLUICE_ASSERT(run.bytes <= bytes_max);
  SLUICE_ASSERT(run.per_second_mb.size() >= static_cast<std::size_t>(run.elapsed_ns / 1'000'000'000));
  return run;
}

// disk-write with --duration-s: a fresh file written for a fixed time (capped at --bytes, the last
// call shortened to meet it exactly), no fsync, the file removed at the end.
int disk_write_sustained(const std::string& path, std::int64_t bytes_max, std::int64_t call_bytes, double duration_s) {
  int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) fail("open %s: %s", path.c_str(), std::strerror(errno));
  std::vector<char> buffer(static_cast<std::size_t>(call_bytes), 'x');
  SustainedWrite run = write_for(fd, path, buffer, static_cast<std::int64_t>(duration_s * 1e9), bytes_max);
  close(fd);
  unlink(path.c_str());
  Json json;
  json.begin_object().field("command", "disk-write").field("mode", "sustained").field("duration_s", duration_s);
  json.field("bytes_max", bytes_max).field("call_bytes", call_bytes).field("bytes", run.bytes);
  json.field("seconds", static_cast<double>(run.elapsed_ns) / 1e9).field("reached_byte_cap", run.reached_byte_cap);
  json.field("sustained_mb_per_s", mb_per_s(run.bytes, run.elapsed_ns));
  json.key("per_second_mb").begin_array();
  for (double mb : run.per_second_mb) json.value(mb);
  json.end_array();
  json.field("cpu_s_per_gb", static_cast<double>(run.cpu_ns) / 1e9 / (static_cast<double>(run.bytes) / 1e9));
  json.end_object();
  std::printf("%s\n", json.text().c_str());
  return 0;
}

}  // namespace

int command_disk_write(Options& options) {
  std::string dir = options.get_string("dir", "/tmp");
  double duration_s = options.get_double("duration-s", 0);
  // A timed run's --bytes is only a cap against filling the disk: 16 GiB unless given.
  std::int64_t total_bytes = options.get_int("bytes", duration_s > 0 ? 16LL << 30 : 1LL << 30);
  std::int64_t call_bytes = options.get_int("call-bytes", 1 << 20);
  options.check_all_used();
  if (call_bytes <= 0 || total_bytes <= 0) fail("disk-write: --bytes and --call-bytes must be > 0");
  std::string path = dir + "/sluice-perf-disk-write.bin";
  if (duration_s > 0) return disk_write_sustained(path, total_bytes, call_bytes, duration_s);
  int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) fail("open %s: %s", path.c_str(), std::strerror(errno));
  std::vector<char> buffer(static_cast<std::size_t>(call_bytes), 'x');
  std::int64_t start = now_ns();
  std::int64_t cpu_start = process_cpu_ns();
  for (std::int64_t written = 0; written < total_bytes; written += call_bytes) {
    ssize_t n = write(fd, buffer.data(), buffer.size());
    if (n != static_cast<ssize_t>(buffer.size())) fail("write %s: %s", path.c_str(), std::strerror(errno));
  }
  std::int64_t written_ns = now_ns() - start;
  std::int64_t cpu_ns = process_cpu_ns() - cpu_start;
  std::int64_t sync_start = now_ns();
  if (fdatasync(fd) != 0) fail("fdatasync: %s", std::strerror(errno));
  std::int64_t sync_ns = now_ns() - sync_start;
  close(fd);
  unlink(path.c_str());
  Json json;
  json.begin_object().field("command", "disk-write").field("mode", "once").field("bytes", total_bytes).field("call_bytes", call_bytes);
  json.field("buffered_mb_per_s", static_cast<double>(total_bytes) / (static_cast<double>(written_ns) / 1e9) / 1e6);
  json.field("with_final_sync_mb_per_s",
             static_cast<double>(total_bytes) / (static_cast<double>(written_ns + sync_ns) / 1e9) / 1e6);
  json.field("cpu_s_per_gb", static_cast<double>(cpu_ns) / 1e9 / (static_cast<double>(total_bytes) / 1e9));
  json.end_object();
  std::printf("%s\n", json.text().c_str());
  return 0;
}

int command_fdatasync(Options& options) {
  std::string dir = options.get_string("dir", "/tmp");
  std::int64_t write_bytes = options.get_int("write-bytes", 1024);
  std::int64_t samples = options.get_int("samples", 1000);
  double duration_s = options.get_double("duration-s", 10);
  options.check_all_used();
  std::string path = dir + "/sluice-perf-fdatasync.bin";
  int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) fail("open %s: %s", path.c_str(), std::strerror(errno));
  // Blocks reserved beyond the end, as the broker's active segment is: each append still changes
  // the file size, so fdatasync commits that metadata with the data.
  if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(write_bytes * samples + (1 << 20))) != 0)
    fail("fallocate: %s", std::strerror(errno));
  std::vector<char> buffer(static_cast<std::size_t>(write_bytes), 'y');
  LatencyHistogram histogram;
  std::int64_t deadline = now_ns() + static_cast<std::int64_t>(duration_s * 1e9);
  std::int64_t done = 0;
  for (; done < samples && now_ns() < deadline; ++done) {
    std::int64_t start = now_ns();
    if (write(fd, buffer.data(), buffer.size()) != static_cast<ssize_t>(buffer.size())) fail("write: %s", std::strerror(errno));
    if (fdatasync(fd) != 0) fail("fdatasync: %s", std::strerror(errno));
    histogram.record(now_ns() - start);
  }
  close(fd);
  unlink(path.c_str());
  Json json;
  json.begin_object().field("command", "fdatasync").field("write_bytes", write_bytes).field("samples", done);
  histogram.write_json(json, "latency");
  json.end_object();
  std::printf("%s\n", json.text().c_str());
  return 0;
}

namespace {
std::uint64_t opened_files = 0;
std::uint64_t opened_bytes = 0;

int open_one(const char* path, const struct stat*, int type, FTW*) {
  if (type != FTW_F) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  if (fstat(fd, &st) == 0) opened_bytes += static_cast<std::uint64_t>(st.st_size);
  // The small files (checkpoints, metadata) are read whole at start; read their first page.
  char page[4096];
  if (st.st_size > 0 && st.st_size <= 4096) (void)!read(fd, page, sizeof page);
  close(fd);
  ++opened_files;
  return 0;
}
}  // namespace

int command_open_files(Options& options) {
  std::string dir = options.get_string("dir", "");
  options.check_all_used();
  if (dir.empty()) fail("open-files needs --dir");
  std::int64_t start = now_ns();
  if (nftw(dir.c_str(), open_one, 64, FTW_PHYS) != 0) fail("walk %s: %s", dir.c_str(), std::strerror(errno));
  double seconds = static_cast<double>(now_ns() - start) / 1e9;
  Json json;
  json.begin_object().field("command", "open-files").field("files", opened_files).field("bytes", opened_bytes);
  json.field("seconds", seconds).end_object();
  std::printf("%s\n", json.text().c_str());
  return 0;
}

}  // namespace sluice::perf
