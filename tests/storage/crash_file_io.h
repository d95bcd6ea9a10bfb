// Test helper: a FileIo that remembers what a power cut would keep. Writes go to the real files
// (page cache); for each file it tracks the size at its last successful sync, and which files were
// created since their directory was last synced. crash() then does to the files what losing the
// page cache could do: each .log keeps its synced bytes, followed by any prefix of the unsynced
// ones, optionally with whole pages of them zeroed (write-back need not go in order); files whose
// directory entry was never synced disappear. A syncfs of a directory makes everything under it
// durable.
// Indexes are written through mmap and are not modelled: recovery rebuilds the indexes of every
// segment at or after the recovery point, and sealed segments' indexes are synced before the
// recovery point passes them.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>

#include "storage/file_io.h"

namespace sluice::test {

class CrashFileIo : public storage::FileIo {
 public:
  int open(const char* path, int flags, mode_t mode) override {
    bool existed = std::filesystem::exists(path);
    int fd = ::open(path, flags, mode);
    if (fd < 0) return fd;
    std::lock_guard lock(mutex_);
    paths_[fd] = path;
    if (!existed && (flags & O_CREAT)) unsynced_entries_.insert(path);
    return fd;
  }
  int close(int fd) override {
    std::lock_guard lock(mutex_);
    paths_.erase(fd);
    return ::close(fd);
  }
  int fdatasync(int fd) override { return synced(fd, ::fdatasync(fd) == 0 ? 0 : -errno); }
  int fsync(int fd) override { return synced(fd, ::fsync(fd) == 0 ? 0 : -errno); }
  int sync_completed(int fd, int result) override { return synced(fd, result); }
  // Models syncfs on the tree under fd's path (a directory): every file there is durable at its
  // current size, and every entry there is.
  int syncfs(int fd) override {
    if (::syncfs(fd) != 0) return -1;
    std::lock_guard lock(mutex_);
    const std::filesystem::path root = paths_[fd];
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
      if (entry.is_regular_file()) durable_bytes_[entry.path().string()] = entry.file_size();
    const std::string prefix = root.string() + "/";
    for (auto it = unsynced_entries_.begin(); it != unsynced_entries_.end();)
      it = it->rfind(prefix, 0) == 0 ? unsynced_entries_.erase(it) : std::next(it);
    return 0;
  }
  int ftruncate(int fd, off_t bytes) override {
    int rc = ::ftruncate(fd, bytes);
    std::lock_guard lock(mutex_);
    auto it = durable_bytes_.find(paths_[fd]);
    if (rc == 0 && it != durable_bytes_.end() && it->second > static_cast<std::uint64_t>(bytes))
      it->second = static_cast<std::uint64_t>(bytes);
    return rc;
  }

  // Applies a power cut to the files under `dir`. Requires: no file of it is open for writing.
  // Returns how many unsynced bytes were lost.
  std::uint64_t crash(const std::filesystem::path& dir, std::mt19937_64& random) {
    std::lock_guard lock(mutex_);
    for (const auto& path : unsynced_entries_) std::filesystem::remove(path);
    unsynced_entries_.clear();
    std::uint64_t lost = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string path = entry.path().string();
      if (entry.path().extension() != ".log") continue;
      std::uint64_t size = std::filesystem::file_size(entry.path());
      std::uint64_t durable = durable_bytes_.count(path) ? std::min(durable_bytes_[path], size) : 0;
      if (size <= durable) continue;
      // Any prefix of the unsynced bytes may have reached the device...
      std::uint64_t kept = durable + random() % (size - durable + 1);
      std::filesystem::resize_file(entry.path(), kept);
      lost += size - kept;
      // ...and not necessarily in order: a page in the middle may be missing.
      if (kept > durable + 4096 && random() % 3 == 0) {
        std::uint64_t page = (durable + 4095) / 4096 * 4096 + 4096 * (random() % ((kept - durable) / 4096));
        if (page + 4096 <= kept) {
          std::string zeros(4096, '\0');
          int fd = ::open(path.c_str(), O_WRONLY);
          (void)!::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(page));
          ::close(fd);
        }
      }
    }
    // What is left is what the device holds: durable for the next crash.
    durable_bytes_.clear();
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.path().extension() == ".log") durable_bytes_[entry.path().string()] = std::filesystem::file_size(entry.path());
    return lost;
  }

 private:
  int synced(int fd, int result) {
    if (result != 0) return result;
    std::lock_guard lock(mutex_);
    const std::string& path = paths_[fd];
    if (path.empty()) return result;
    struct stat st;
    if (::fstat(fd, &st) != 0) return result;
    if (S_ISDIR(st.st_mode)) {
      // The directory's entries are now durable.
      for (auto it = unsynced_entries_.begin(); it != unsynced_entries_.end();)
        it = std::filesystem::path(*it).parent_path() == path ? unsynced_entries_.erase(it) : std::next(it);
    } else {
      durable_bytes_[path] = static_cast<std::uint64_t>(st.st_size);
    }
    return result;
  }

  std::mutex mutex_;
  std::map<int, std::string> paths_;
  std::map<std::string, std::uint64_t> durable_bytes_;
  std::set<std::string> unsynced_entries_;
};

}  // namespace sluice::test
