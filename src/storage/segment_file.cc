#include "storage/segment_file.h"
#include "storage/file_io.h"

#include <unistd.h>

#include "base/assert.h"

namespace sluice::storage {

SegmentFile::SegmentFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {
  SLUICE_ASSERT(fd >= 0, "fd=%d", fd);
}

SegmentFile::~SegmentFile() { file_io().close(fd_); }

}  // namespace sluice::storage
