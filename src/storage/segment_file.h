// An open file of a log segment (.log). Shared between the partition's owner thread (which
// appends) and readers (which send ranges of it with sendfile/splice): the fd stays open as long as
// any holder keeps the shared_ptr, even after retention has unlinked the file.
// Immutable after construction; any thread may call.
#pragma once

#include <filesystem>

namespace sluice::storage {

class SegmentFile {
 public:
  // Takes ownership of fd. Requires: fd >= 0.
  SegmentFile(int fd, std::filesystem::path path);
  ~SegmentFile();
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;

  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  int fd_;
  std::filesystem::path path_;
};

}  // namespace sluice::storage
