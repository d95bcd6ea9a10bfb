// The cleaner's two bounded resources: the I/O throttle (log.cleaner.io.max.bytes.per.second) and
// the key -> latest offset map kept within the dedupe buffer. Declared in storage/cleaner.h.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/assert.h"
#include "base/clock.h"
#include "storage/cleaner.h"

namespace sluice::storage {

// ---------------------------------------------------------------- Throttler

namespace {
class SystemThrottleClock final : public ThrottleClock {
 public:
  std::int64_t now_ns() override { return monotonic_ns(); }
  void sleep_ns(std::int64_t ns) override {
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
};
}  // namespace

ThrottleClock& system_throttle_clock() {
  static SystemThrottleClock clock;
  return clock;
}

Throttler::Throttler(double bytes_per_second_max, ThrottleClock& clock, std::int64_t check_interval_ns)
    : rate_max_(bytes_per_second_max), clock_(clock), check_interval_ns_(check_interval_ns),
      period_start_ns_(clock.now_ns()) {
  SLUICE_ASSERT(check_interval_ns > 0, "check_interval_ns=%lld", (long long)check_interval_ns);
}

void Throttler::set_rate(double bytes_per_second_max) {
  std::lock_guard lock(mutex_);
  rate_max_ = bytes_per_second_max;
}

std::int64_t Throttler::slept_ns() const {
  std::lock_guard lock(mutex_);
  return slept_ns_;
}

void Throttler::maybe_throttle(std::uint64_t bytes) {
  // Kafka's Throttler.maybeThrottle: the lock is held while sleeping, so the threads sharing the
  // throttler share the rate.
  std::lock_guard lock(mutex_);
  if (!(rate_max_ > 0) || std::isinf(rate_max_)) return;
  observed_bytes_ += bytes;
  const std::int64_t now = clock_.now_ns();
  const std::int64_t elapsed = now - period_start_ns_;
  if (elapsed <= check_interval_ns_ || observed_bytes_ == 0) return;
  const double wanted_ns = double(observed_bytes_) / rate_max_ * 1e9;
  const auto sleep = static_cast<std::int64_t>(wanted_ns) - elapsed;
  if (sleep > 0) {
    clock_.sleep_ns(sleep);
    slept_ns_ += sleep;
  }
  period_start_ns_ = clock_.now_ns();
  observed_bytes_ = 0;
}

// ---------------------------------------------------------------- OffsetMap

namespace {

std::uint64_t rotl64(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

std::uint64_t load_le64_partial(const std::byte* p, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) v |= std::uint64_t(static_cast<std::uint8_t>(p[i])) << (8 * i);
  return v;
}

// MurmurHash3 x64 128 (Austin Appleby's public-domain design), seed 0.
std::pair<std::uint64_t, std::uint64_t> murmur3_128(std::span<const std::byte> key) {
  constexpr std::uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  const std::size_t blocks = key.size() / 16;
  std::uint64_t h1 = 0, h2 = 0;
  for (std::size_t i = 0; i < blocks; ++i) {
    std::uint64_t k1 = load_le64_partial(key.data() + i * 16, 8);
    std::uint64_t k2 = load_le64_partial(key.data() + i * 16 + 8, 8);
    k1 *= c1, k1 = rotl64(k1, 31), k1 *= c2, h1 ^= k1;
    h1 = rotl64(h1, 27), h1 += h2, h1 = h1 * 5 + 0x52dce729;
    k2 *= c2, k2 = rotl64(k2, 33), k2 *= c1, h2 ^= k2;
    h2 = rotl64(h2, 31), h2 += h1, h2 = h2 * 5 + 0x38495ab5;
  }
  const std::byte* tail = key.data() + blocks * 16;
  const std::size_t rest = key.size() & 15;
  if (rest > 8) {
    std::uint64_t k2 = load_le64_partial(tail + 8, rest - 8);
    k2 *= c2, k2 = rotl64(k2, 33), k2 *= c1, h2 ^= k2;
  }
  if (rest > 0) {
    std::uint64_t k1 = load_le64_partial(tail, std::min<std::size_t>(rest, 8));
    k1 *= c1, k1 = rotl64(k1, 31), k1 *= c2, h1 ^= k1;
  }
  h1 ^= key.size(), h2 ^= key.size();
  h1 += h2, h2 += h1;
  h1 = fmix64(h1), h2 = fmix64(h2);
  h1 += h2, h2 += h1;
  return {h1, h2};
}

}  // namespace

OffsetMap::OffsetMap(std::size_t memory_bytes, double load_factor) : load_factor_(load_factor) {
  SLUICE_ASSERT(load_factor > 0 && load_factor <= 1, "load_factor=%f", load_factor);
  slot_count_max_ = memory_bytes / slot_bytes;
  // One slot always stays empty, so a probe for an absent key ends.
  size_max_ = std::min(static_cast<std::size_t>(double(slot_count_max_) * load_factor),
                       slot_count_max_ == 0 ? 0 : slot_count_max_ - 1);
  SLUICE_ASSERT(size_max_ >= 1, "dedupe buffer of %zu bytes holds no key", memory_bytes);
  clear();
}

void OffsetMap::clear() {
  std::vector<Slot> fresh(std::min(initial_slots, slot_count_max_), Slot{0, 0, -1});
  slots_.swap(fresh);
  size_ = 0;
  latest_offset_ = -1;
}

std::size_t OffsetMap::grow_at() const {
  if (slots_.size() == slot_count_max_) return size_max_;
  return std::min(static_cast<std::size_t>(double(slots_.size()) * load_factor_), slots_.size() - 1);
}

void OffsetMap::grow() {
  std::vector<Slot> old(std::min(slots_.size() * 2, slot_count_max_), Slot{0, 0, -1});
  old.swap(slots_);
  for (const Slot& slot : old) {
    if (slot.offset >= 0) slots_[find_slot(slot.digest_high, slot.digest_low)] = slot;
  }
}

std::size_t OffsetMap::find_slot(std::uint64_t high, std::uint64_t low) const {
  std::size_t index = high % slots_.size();
  for (;;) {
    const Slot& slot = slots_[index];
    if (slot.offset < 0 || (slot.digest_high == high && slot.digest_low == low)) return index;
    index = index + 1 == slots_.size() ? 0 : index + 1;
  }
}

void OffsetMap::put(std::span<const std::byte> key, std::int64_t offset) {
  SLUICE_ASSERT(!full(), "size=%zu", size_);
  SLUICE_ASSERT(offset >= 0, "offset=%lld", (long long)offset);
  auto [high, low] = murmur3_128(key);
  if (size_ >= grow_at()) grow();
  Slot& slot = slots_[find_slot(high, low)];
  if (slot.offset < 0) {
    ++size_;
    slot.digest_high = high;
    slot.digest_low = low;
  }
  slot.offset = offset;
  update_latest_offset(offset);
}

std::int64_t OffsetMap::get(std::span<const std::byte> key) const {
  auto [high, low] = murmur3_128(key);
  return slots_[find_slot(high, low)].offset;
}

}  // namespace sluice::storage
