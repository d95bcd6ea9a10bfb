#include "io/buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <string>

#include "base/assert.h"

namespace sluice::io {
namespace {

// Anonymous, page-aligned memory: pages cost RSS only once the kernel (or we) write them.
std::byte* map_anonymous(std::size_t bytes) {
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return memory == MAP_FAILED ? nullptr : static_cast<std::byte*>(memory);
}

}  // namespace

BufferRing::~BufferRing() {
  // The kernel pins the pages it was given; unmapping only drops our view, so this is safe even
  // while the ring's teardown (after io_uring_queue_exit) still holds them.
  if (entries_ != nullptr) ::munmap(entries_, entries_bytes_);
  if (memory_ != nullptr) ::munmap(memory_, memory_bytes_);
}

Status BufferRing::init(io_uring* ring, std::uint16_t group_id, std::uint32_t count, std::uint32_t buffer_bytes) {
  SLUICE_ASSERT(entries_ == nullptr, "buffer ring initialised twice");
  SLUICE_ASSERT(count > 0 && count <= 32768 && (count & (count - 1)) == 0, "buffer count %u", count);
  SLUICE_ASSERT(buffer_bytes > 0);
  std::size_t entries_bytes = sizeof(io_uring_buf) * count;
  std::size_t memory_bytes = static_cast<std::size_t>(count) * buffer_bytes;
  auto* entries = reinterpret_cast<io_uring_buf_ring*>(map_anonymous(entries_bytes));
  if (entries == nullptr) return Status::from_errno(errno, "mmap buffer ring entries");
  std::byte* memory = map_anonymous(memory_bytes);
  if (memory == nullptr) {
    int error = errno;
    ::munmap(entries, entries_bytes);
    return Status::from_errno(error, "mmap buffer ring memory");
  }
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<std::uint64_t>(entries);
  registration.ring_entries = count;
  registration.bgid = group_id;
  int rc = io_uring_register_buf_ring(ring, &registration, 0);
  if (rc < 0) {
    ::munmap(entries, entries_bytes);
    ::munmap(memory, memory_bytes);
    return Status::from_errno(-rc, "io_uring_register_buf_ring");
  }
  entries_ = entries;
  entries_bytes_ = entries_bytes;
  memory_ = memory;
  memory_bytes_ = memory_bytes;
  group_id_ = group_id;
  count_ = count;
  buffer_bytes_ = buffer_bytes;
  io_uring_buf_ring_init(entries_);
  int mask = io_uring_buf_ring_mask(count_);
  for (std::uint32_t bid = 0; bid < count_; ++bid) {
    io_uring_buf_ring_add(entries_, buffer(static_cast<std::uint16_t>(bid)), buffer_bytes_,
                          static_cast<std::uint16_t>(bid), mask, static_cast<int>(bid));
  }
  io_uring_buf_ring_advance(entries_, static_cast<int>(count_));
  return Status::ok();
}

std::byte* BufferRing::buffer(std::uint16_t bid) const {
  SLUICE_ASSERT(bid < count_, "buffer id %u of %u", static_cast<unsigned>(bid), count_);
  return memory_ + static_cast<std::size_t>(bid) * buffer_bytes_;
}

void BufferRing::recycle(std::uint16_t bid) {
  SLUICE_ASSERT(recycled_count_ < taken_count_, "recycled more buffers than were taken (bid %u)",
                static_cast<unsigned>(bid));
  io_uring_buf_ring_add(entries_, buffer(bid), buffer_bytes_, bid, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(entries_, 1);
  ++recycled_count_;
}

}  // namespace sluice::io
