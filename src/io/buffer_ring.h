// A ring of provided buffers (io_uring "pbuf ring") that one event loop registers with its ring:
// a multishot recv takes a buffer from it for each chunk of bytes it delivers, and the
// completion names the buffer (IORING_CQE_F_BUFFER plus its id). Every connection of a network
// thread receives through the same buffers, so receive memory is fixed per thread
// (count * buffer_bytes) instead of growing with the number of connections.
//
// Owned by its EventLoop, which registers it in init() and drops the registration when the ring
// exits; the memory is freed after that. Threads: loop thread only.
// Invariants: count is a power of two in [1, 32768]; every buffer is either in the ring (the
// kernel may fill it) or handed out by exactly one completion until recycle() puts it back.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>

#include "base/status.h"

namespace sluice::io {

class BufferRing {
 public:
  BufferRing() = default;
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // Allocates count buffers of buffer_bytes (page-aligned, untouched until the kernel fills
  // them), registers them as group `group_id` of `ring` and hands them all to the kernel.
  // Requires: count is a power of two <= 32768, buffer_bytes > 0, called on the ring's thread.
  // Fails (and holds nothing) when the kernel lacks provided-buffer rings (before 5.19).
  Status init(io_uring* ring, std::uint16_t group_id, std::uint32_t count, std::uint32_t buffer_bytes);

  std::uint16_t group_id() const { return group_id_; }
  std::uint32_t count() const { return count_; }
  std::uint32_t buffer_bytes() const { return buffer_bytes_; }
  // The bytes of buffer `bid` (as a completion named it).
  std::byte* buffer(std::uint16_t bid) const;
  // Gives buffer `bid` back to the kernel. Requires: the caller was handed `bid` by a completion
  // and is done with its bytes.
  void recycle(std::uint16_t bid);

  // Buffers handed out by completions and not recycled yet (for tests and assertions).
  std::uint64_t outstanding() const { return taken_count_ - recycled_count_; }
  // Called for each completion that carried a buffer.
  void note_taken() { ++taken_count_; }
  // Times a multishot recv ended with -ENOBUFS because the ring was empty.
  std::uint64_t exhausted_count() const { return exhausted_count_; }
  void note_exhausted() { ++exhausted_count_; }

 private:
  io_uring_buf_ring* entries_ = nullptr;  // count_ descriptors, shared with the kernel
  std::size_t entries_bytes_ = 0;
  std::byte* memory_ = nullptr;            // count_ * buffer_bytes_
  std::size_t memory_bytes_ = 0;
  std::uint16_t group_id_ = 0;
  std::uint32_t count_ = 0;
  std::uint32_t buffer_bytes_ = 0;
  std::uint64_t taken_count_ = 0;
  std::uint64_t recycled_count_ = 0;
  std::uint64_t exhausted_count_ = 0;
};

}  // namespace sluice::io
