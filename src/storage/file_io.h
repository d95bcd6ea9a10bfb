// Every file operation of the storage layer goes through FileIo, so tests (and the broker, when
// told to by `storage.faults`) can inject short writes, EIO, ENOSPC and lost unsynced data.
//
// The process has one FileIo (file_io()); it starts as the plain system calls. Tests swap it with
// set_file_io() before any log is opened and restore it after; nothing else changes it.
// Threads: the system implementation is stateless and any thread may call it; an injecting
// implementation must be thread-safe too (the owner threads of different logs call it at once).
// Each call returns what the system call returns (-1 with errno set on failure).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

namespace sluice::storage {

class FileIo {
 public:
  virtual ~FileIo() = default;
  virtual int open(const char* path, int flags, mode_t mode = 0);
  virtual int close(int fd);
  virtual ssize_t pread(int fd, void* buffer, std::size_t bytes, off_t position);
  virtual ssize_t pwrite(int fd, const void* data, std::size_t bytes, off_t position);
  virtual int fdatasync(int fd);
  virtual int fsync(int fd);
  // syncfs(2): every file of the file system holding fd (data, sizes, directory entries) durable.
  virtual int syncfs(int fd);
  virtual int ftruncate(int fd, off_t bytes);
  virtual int fallocate(int fd, int mode, off_t position, off_t bytes);
  virtual int rename(const char* from, const char* to);
  virtual int unlink(const char* path);
  // A sync that ran elsewhere (an io_uring fsync/fdatasync) finished with `result` (0 or -errno)
  // on `fd`: returns the result to act on. The system implementation returns it unchanged; an
  // injecting one may replace it with an error, or record that the file is now durable.
  virtual int sync_completed(int fd, int result);
};

// When a write becomes durable: `now`, before the call returns (fsyncs of the file and of its
// directory), or `by_caller`: the caller syncs later, for many writes at once, and trusts nothing
// written this way before that succeeded. A clean stop closes thousands of logs and then syncs
// the whole file system once (syncfs), instead of several fsyncs per log.
enum class Durability { now, by_caller };

// The process-wide FileIo. Requires for set_file_io: no log is open; `io` outlives its use.
FileIo& file_io();
void set_file_io(FileIo* io);

// Owns one fd and closes it through file_io() (so an injecting FileIo sees the close).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) file_io().close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Injects failures into chosen operations on files whose path contains a substring; every other
// call goes to the system. Built from `storage.faults` (a test-only broker setting) or by tests.
// Rule syntax, rules separated by ';':  <op>:<error>[:path=<substring>][:after=<n>][:count=<n>]
//   op     pwrite | pread | fdatasync (also io_uring syncs) | fsync | syncfs | ftruncate | fallocate | open
//   error  EIO | ENOSPC | short (pwrite only: half the bytes reach the file, the call fails ENOSPC)
//   after  let the first n matching calls succeed (default 0); count: fail this many (default
//   unlimited).
class FaultInjectingFileIo : public FileIo {
 public:
  static Result<std::unique_ptr<FaultInjectingFileIo>> parse(const std::string& rules);

  int open(const char* path, int flags, mode_t mode) override;
  int close(int fd) override;
  ssize_t pread(int fd, void* buffer, std::size_t bytes, off_t position) override;
  ssize_t pwrite(int fd, const void* data, std::size_t bytes, off_t position) override;
  int fdatasync(int fd) override;
  int fsync(int fd) override;
  int syncfs(int fd) override;
  int ftruncate(int fd, off_t bytes) override;
  int fallocate(int fd, int mode, off_t position, off_t bytes) override;
  int sync_completed(int fd, int result) override;

  std::uint64_t injected_count() const { return injected_.load(std::memory_order_relaxed); }

 private:
  enum class Op { pwrite, pread, fdatasync, fsync, syncfs, ftruncate, fallocate, open };
  enum class Kind { eio, enospc, short_write };
  struct Rule {
    Op op;
    Kind kind;
    std::string path;        // substring; empty matches every file
    std::uint64_t after = 0;
    std::uint64_t count = UINT64_MAX;
    std::uint64_t seen = 0;  // matching calls so far
  };
  // The rule that fails this call, if any (counts the call). Thread-safe.
  const Rule* match(Op op, const std::string& path);
  std::string path_of(int fd);

  std::mutex mutex_;
  std::vector<Rule> rules_;
  std::vector<std::string> paths_;  // by fd, for files opened through this FileIo
  std::atomic<std::uint64_t> injected_{0};
};

}  // namespace sluice::storage
