// A byte budget shared by every connection of the broker: the bytes of requests that were read
// but not yet answered. When it is spent, connections stop reading from their sockets
// (backpressure) until answered requests give bytes back; memory never grows without bound.
//
// Threads: any thread may reserve and release (atomic counter).
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include "base/assert.h"

namespace sluice::net {

class MemoryBudget {
 public:
  explicit MemoryBudget(std::uint64_t bytes_max) : bytes_max_(bytes_max) { SLUICE_ASSERT(bytes_max > 0); }

  // Gives its bytes back when destroyed. Move-only.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(MemoryBudget* budget, std::uint64_t bytes) : budget_(budget), bytes_(bytes) {}
    Reservation(Reservation&& other) noexcept
        : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
    Reservation& operator=(Reservation&& other) noexcept {
      if (this != &other) {
        release();
        budget_ = std::exchange(other.budget_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
      }
      return *this;
    }
    ~Reservation() { release(); }
    std::uint64_t bytes() const { return bytes_; }

   private:
    void release() {
      if (budget_ != nullptr) budget_->used_.fetch_sub(bytes_, std::memory_order_relaxed);
      budget_ = nullptr;
      bytes_ = 0;
    }
    MemoryBudget* budget_ = nullptr;
    std::uint64_t bytes_ = 0;
  };

  // A request already read must be held, so reserving always succeeds; it may take the budget
  // past its limit, and then nobody reads more until enough comes back.
  Reservation reserve(std::uint64_t bytes) {
    used_.fetch_add(bytes, std::memory_order_relaxed);
    return Reservation(this, bytes);
  }
  bool exhausted() const { return used_.load(std::memory_order_relaxed) >= bytes_max_; }
  std::uint64_t used_bytes() const { return used_.load(std::memory_order_relaxed); }
  std::uint64_t bytes_max() const { return bytes_max_; }

 private:
  const std::uint64_t bytes_max_;
  std::atomic<std::uint64_t> used_{0};
};

// One request frame (without its size prefix) and the budget it holds until it is dropped.
struct RequestFrame {
  std::vector<std::byte> bytes;
  MemoryBudget::Reservation reservation;
};

}  // namespace sluice::net
