#include "storage/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "base/log.h"

namespace sluice::storage {

int FileIo::open(const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); }
int FileIo::close(int fd) { return ::close(fd); }
ssize_t FileIo::pread(int fd, void* buffer, std::size_t bytes, off_t position) {
  return ::pread(fd, buffer, bytes, position);
}
ssize_t FileIo::pwrite(int fd, const void* data, std::size_t bytes, off_t position) {
  return ::pwrite(fd, data, bytes, position);
}
int FileIo::fdatasync(int fd) { return ::fdatasync(fd); }
int FileIo::fsync(int fd) { return ::fsync(fd); }
int FileIo::syncfs(int fd) { return ::syncfs(fd); }
int FileIo::ftruncate(int fd, off_t bytes) { return ::ftruncate(fd, bytes); }
int FileIo::fallocate(int fd, int mode, off_t position, off_t bytes) { return ::fallocate(fd, mode, position, bytes); }
int FileIo::rename(const char* from, const char* to) { return ::rename(from, to); }
int FileIo::unlink(const char* path) { return ::unlink(path); }
int FileIo::sync_completed(int, int result) { return result; }

namespace {
FileIo system_file_io;
std::atomic<FileIo*> current_file_io{&system_file_io};
}  // namespace

FileIo& file_io() { return *current_file_io.load(std::memory_order_acquire); }
void set_file_io(FileIo* io) { current_file_io.store(io == nullptr ? &system_file_io : io, std::memory_order_release); }

// ---------------------------------------------------------------- FaultInjectingFileIo

namespace {
std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

bool parse_count(const std::string& text, std::uint64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *out = value;
  return true;
}
}  // namespace

Result<std::unique_ptr<FaultInjectingFileIo>> FaultInjectingFileIo::parse(const std::string& rules) {
  auto io = std::make_unique<FaultInjectingFileIo>();
  for (const std::string& text : split(rules, ';')) {
    if (text.empty()) continue;
    auto fields = split(text, ':');
    auto bad = [&](const char* why) { return Status::error(std::string("storage.faults rule \"") + text + "\": " + why); };
    if (fields.size() < 2) return bad("expected <op>:<error>");
    Rule rule{};
    const std::string& op = fields[0];
    if (op == "pwrite") rule.op = Op::pwrite;
    else if (op == "pread") rule.op = Op::pread;
    else if (op == "fdatasync") rule.op = Op::fdatasync;
    else if (op == "fsync") rule.op = Op::fsync;
    else if (op == "syncfs") rule.op = Op::syncfs;
    else if (op == "ftruncate") rule.op = Op::ftruncate;
    else if (op == "fallocate") rule.op = Op::fallocate;
    else if (op == "open") rule.op = Op::open;
    else return bad("unknown operation");
    const std::string& error = fields[1];
    if (error == "EIO") rule.kind = Kind::eio;
    else if (error == "ENOSPC") rule.kind = Kind::enospc;
    else if (error == "short" && rule.op == Op::pwrite) rule.kind = Kind::short_write;
    else return bad("unknown error (EIO, ENOSPC, or short for pwrite)");
    for (std::size_t i = 2; i < fields.size(); ++i) {
      const std::string& field = fields[i];
      if (field.rfind("path=", 0) == 0) rule.path = field.substr(5);
      else if (field.rfind("after=", 0) == 0) {
        if (!parse_count(field.substr(6), &rule.after)) return bad("bad after=");
      } else if (field.rfind("count=", 0) == 0) {
        if (!parse_count(field.substr(6), &rule.count)) return bad("bad count=");
      } else {
        return bad("unknown field");
      }
    }
    io->rules_.push_back(std::move(rule));
  }
  return io;
}

std::string FaultInjectingFileIo::path_of(int fd) {
  {
    std::lock_guard lock(mutex_);
    if (fd >= 0 && static_cast<std::size_t>(fd) < paths_.size() && !paths_[static_cast<std::size_t>(fd)].empty())
      return paths_[static_cast<std::size_t>(fd)];
  }
  // A file opened before this FileIo was installed (or by a plain open): ask the kernel.
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char target[4096];
  ssize_t n = ::readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
}

const FaultInjectingFileIo::Rule* FaultInjectingFileIo::match(Op op, const std::string& path) {
  std::lock_guard lock(mutex_);
  for (Rule& rule : rules_) {
    if (rule.op != op) continue;
    if (!rule.path.empty() && path.find(rule.path) == std::string::npos) continue;
    std::uint64_t seen = rule.seen++;
    if (seen < rule.after || seen - rule.after >= rule.count) continue;
    injected_.fetch_add(1, std::memory_order_relaxed);
    LOG_WARN("storage.fault_injected", "path=%s call=%llu", path.c_str(), (unsigned long long)seen);
    return &rule;
  }
  return nullptr;
}

namespace {
int fail(int error) {
  errno = error;
  return -1;
}
}  // namespace

int FaultInjectingFileIo::open(const char* path, int flags, mode_t mode) {
  if (const Rule* rule = match(Op::open, path)) return fail(rule->kind == Kind::enospc ? ENOSPC : EIO);
  int fd = ::open(path, flags, mode);
  if (fd >= 0) {
    std::lock_guard lock(mutex_);
    if (paths_.size() <= static_cast<std::size_t>(fd)) paths_.resize(static_cast<std::size_t>(fd) + 1);
    paths_[static_cast<std::size_t>(fd)] = path;
  }
  return fd;
}

int FaultInjectingFileIo::close(int fd) {
  {
    std::lock_guard lock(mutex_);
    if (fd >= 0 && static_cast<std::size_t>(fd) < paths_.size()) paths_[static_cast<std::size_t>(fd)].clear();
  }
  return ::close(fd);
}

ssize_t FaultInjectingFileIo::pread(int fd, void* buffer, std::size_t bytes, off_t position) {
  if (const Rule* rule = match(Op::pread, path_of(fd))) return fail(rule->kind == Kind::enospc ? ENOSPC : EIO);
  return ::pread(fd, buffer, bytes, position);
}

ssize_t FaultInjectingFileIo::pwrite(int fd, const void* data, std::size_t bytes, off_t position) {
  const Rule* rule = match(Op::pwrite, path_of(fd));
  if (rule == nullptr) return ::pwrite(fd, data, bytes, position);
  if (rule->kind == Kind::short_write) {
    // Half the bytes reach the file and the call still fails, as a disk filling up mid-write
    // leaves it: the caller must not trust anything past its last whole batch.
    if (bytes > 1 && ::pwrite(fd, data, bytes / 2, position) < 0) return -1;
    return fail(ENOSPC);
  }
  return fail(rule->kind == Kind::eio ? EIO : ENOSPC);
}

int FaultInjectingFileIo::fdatasync(int fd) {
  if (const Rule* rule = match(Op::fdatasync, path_of(fd))) return fail(rule->kind == Kind::enospc ? ENOSPC : EIO);
  return ::fdatasync(fd);
}

int FaultInjectingFileIo::fsync(int fd) {
  if (const Rule* rule = match(Op::fsync, path_of(fd))) return fail(rule->kind == Kind::enospc ? ENOSPC : EIO);
  return ::fsync(fd);
}

int FaultInjectingFileIo::syncfs(int fd) {
  if (const Rule* rule = match(Op::syncfs, path_of(fd))) return fail(rule->kind == Kind::enospc ? ENOSPC : EIO);
  return ::syncfs(fd);
}

int FaultInjectingFileIo::ftruncate(int fd, off_t bytes) {
  if (const Rule* rule = match(Op::ftruncate, path_of(fd))) return fail(rule->kind == Kind::enospc ? ENOSPC : EIO);
  return ::ftruncate(fd, bytes);
}

int FaultInjectingFileIo::fallocate(int fd, int mode, off_t position, off_t bytes) {
  if (const Rule* rule = match(Op::fallocate, path_of(fd))) return fail(rule->kind == Kind::enospc ? ENOSPC : EIO);
  return ::fallocate(fd, mode, position, bytes);
}

int FaultInjectingFileIo::sync_completed(int fd, int result) {
  if (result != 0) return result;
  if (const Rule* rule = match(Op::fdatasync, path_of(fd))) return rule->kind == Kind::enospc ? -ENOSPC : -EIO;
  return result;
}

}  // namespace sluice::storage
