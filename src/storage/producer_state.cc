#include "storage/producer_state.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"

namespace sluice::storage {
namespace {

std::int32_t last_sequence_of(const RecordBatchHeader& header) {
  return increment_sequence(header.base_sequence, header.last_offset_delta);
}

// Kafka's ProducerAppendInfo.inSequence.
bool in_sequence(std::int32_t last_sequence, std::int32_t next_sequence) {
  return std::int64_t{next_sequence} == std::int64_t{last_sequence} + 1 ||
         (next_sequence == 0 && last_sequence == INT32_MAX);
}

// Kafka's ProducerStateEntry.findDuplicateBatch: same epoch and same sequence range.
std::optional<std::int64_t> find_duplicate(const ProducerEntry& entry, const RecordBatchHeader& header) {
  if (header.producer_epoch != entry.epoch) return std::nullopt;
  std::int32_t last = last_sequence_of(header);
  for (const auto& batch : entry.batches)
    if (batch.first_sequence == header.base_sequence && batch.last_sequence == last) return batch.first_offset;
  return std::nullopt;
}

constexpr std::int16_t snapshot_version = 1;
constexpr std::size_t snapshot_crc_position = 2;
constexpr std::size_t snapshot_entries_position = 6;  // Kafka's PRODUCER_ENTRIES_OFFSET
constexpr std::size_t snapshot_entry_bytes = 46;
static_assert(snapshot_entry_bytes == 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8);

void put_snapshot_entry(char* p, std::int64_t producer_id, const ProducerEntry& entry) {
  const bool has_batch = !entry.batches.empty();
  const ProducerBatch last = has_batch ? entry.batches.back() : ProducerBatch{-1, -1, -1, -1, -1};
  store_be64(p + 0, static_cast<std::uint64_t>(producer_id));
  store_be16(p + 8, static_cast<std::uint16_t>(entry.epoch));
  store_be32(p + 10, static_cast<std::uint32_t>(last.last_sequence));
  store_be64(p + 14, static_cast<std::uint64_t>(last.last_offset));
  store_be32(p + 22, static_cast<std::uint32_t>(has_batch ? last.last_offset - last.first_offset : 0));
  store_be64(p + 26, static_cast<std::uint64_t>(entry.last_timestamp));  // Kafka's entry.lastTimestamp()
  store_be32(p + 34, static_cast<std::uint32_t>(-1));  // coordinatorEpoch: no transactions
  store_be64(p + 38, static_cast<std::uint64_t>(-1));  // currentTxnFirstOffset: none
}

// Kafka's readSnapshot: an entry with lastOffset < 0 has an epoch but no batch.
ProducerEntry read_snapshot_entry(const char* p) {
  ProducerEntry entry;
  entry.epoch = static_cast<std::int16_t>(load_be16(p + 8));
  entry.last_timestamp = static_cast<std::int64_t>(load_be64(p + 26));
  auto last_sequence = static_cast<std::int32_t>(load_be32(p + 10));
  auto last_offset = static_cast<std::int64_t>(load_be64(p + 14));
  auto offset_delta = static_cast<std::int32_t>(load_be32(p + 22));
  auto timestamp = static_cast<std::int64_t>(load_be64(p + 26));
  if (last_offset >= 0 && offset_delta >= 0 && offset_delta <= last_offset) {
    // Kafka's BatchMetadata.firstSeq: DefaultRecordBatch.decrementSequence(lastSeq, offsetDelta).
    std::int32_t first_sequence = last_sequence < offset_delta ? INT32_MAX - (offset_delta - last_sequence) + 1
                                                               : last_sequence - offset_delta;
    entry.batches.push_back(ProducerBatch{first_sequence, last_sequence, last_offset - offset_delta, last_offset, timestamp});
  }
  return entry;
}

}  // namespace

std::string ProducerStateTable::encode_snapshot() const {
  std::vector<std::int64_t> ids;
  ids.reserve(index_.size());
  for (const auto& [id, slot] : index_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  std::string out(snapshot_entries_position + 4 + ids.size() * snapshot_entry_bytes, '\0');
  store_be16(out.data(), static_cast<std::uint16_t>(snapshot_version));
  store_be32(out.data() + snapshot_entries_position, static_cast<std::uint32_t>(ids.size()));
  for (std::size_t i = 0; i < ids.size(); ++i)
    put_snapshot_entry(out.data() + snapshot_entries_position + 4 + i * snapshot_entry_bytes, ids[i],
                       slots_[index_.at(ids[i])].entry);
  std::uint32_t crc = crc32c(out.data() + snapshot_entries_position, out.size() - snapshot_entries_position);
  store_be32(out.data() + snapshot_crc_position, crc);
  return out;
}

bool ProducerStateTable::load_snapshot(std::string_view bytes) {
  clear();
  if (bytes.size() < snapshot_entries_position + 4) return false;
  if (static_cast<std::int16_t>(load_be16(bytes.data())) != snapshot_version) return false;
  std::uint32_t crc = crc32c(bytes.data() + snapshot_entries_position, bytes.size() - snapshot_entries_position);
  if (crc != load_be32(bytes.data() + snapshot_crc_position)) return false;
  auto count = static_cast<std::int32_t>(load_be32(bytes.data() + snapshot_entries_position));
  if (count < 0 || bytes.size() != snapshot_entries_position + 4 + std::size_t(count) * snapshot_entry_bytes) return false;
  std::vector<std::pair<std::int64_t, ProducerEntry>> entries;
  entries.reserve(std::size_t(count));
  for (std::int32_t i = 0; i < count; ++i) {
    const char* p = bytes.data() + snapshot_entries_position + 4 + std::size_t(i) * snapshot_entry_bytes;
    auto producer_id = static_cast<std::int64_t>(load_be64(p));
    if (producer_id < 0) return false;  // Kafka never writes NO_PRODUCER_ID into a snapshot
    entries.emplace_back(producer_id, read_snapshot_entry(p));
  }
  // The file holds no update order: the oldest timestamps become the least recently updated.
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second.last_timestamp, a.first) < std::pair(b.second.last_timestamp, b.first);
  });
  for (auto& [id, entry] : entries) entry_for_update(id) = std::move(entry);
  SLUICE_ASSERT(index_.size() <= std::size_t(count), "producers=%zu count=%d", index_.size(), count);
  SLUICE_ASSERT(index_.size() <= producers_max_, "producers=%zu max=%zu", index_.size(), producers_max_);
  return true;
}

std::int32_t increment_sequence(std::int32_t sequence, std::int32_t increment) {
  SLUICE_ASSERT(increment >= 0, "increment=%d", increment);
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

ProducerStateTable::ProducerStateTable(std::size_t producers_max) : producers_max_(producers_max) {
  SLUICE_ASSERT(producers_max >= 1, "producers_max=%zu", producers_max);
}

const ProducerEntry* ProducerStateTable::find(std::int64_t producer_id) const {
  auto it = index_.find(producer_id);
  return it == index_.end() ? nullptr : &slots_[it->second].entry;
}

void ProducerStateTable::clear() {
  index_.clear();
  slots_.clear();
  slots_free_.clear();
  oldest_ = slot_none;
  newest_ = slot_none;
}

void ProducerStateTable::set_producers_max(std::size_t producers_max) {
  SLUICE_ASSERT(producers_max >= 1, "producers_max=%zu", producers_max);
  producers_max_ = producers_max;
  while (index_.size() > producers_max_) evict_oldest();
  SLUICE_ASSERT(index_.size() <= producers_max_, "producers=%zu max=%zu", index_.size(), producers_max_);
}

std::size_t ProducerStateTable::expire(std::int64_t now_ms, std::int64_t expiration_ms) {
  SLUICE_ASSERT(now_ms >= 0, "now_ms=%lld", static_cast<long long>(now_ms));
  SLUICE_ASSERT(expiration_ms >= 1, "expiration_ms=%lld", static_cast<long long>(expiration_ms));
  // Kafka's isProducerExpired: currentTimeMs - lastTimestamp >= producerIdExpirationMs. Compared
  // as lastTimestamp <= cutoff, which cannot overflow whatever timestamp a client sent.
  const std::int64_t cutoff = now_ms - expiration_ms;
  const std::size_t count_before = index_.size();
  for (std::uint32_t slot = oldest_; slot != slot_none;) {
    const std::uint32_t newer = slots_[slot].newer;  // read before slot_remove() unlinks it
    if (slots_[slot].entry.last_timestamp <= cutoff) slot_remove(slot);
    slot = newer;
  }
  SLUICE_ASSERT(index_.size() <= count_before, "producers=%zu before=%zu", index_.size(), count_before);
  return count_before - index_.size();
}

// The entry update() writes to: an existing producer moves to the newest end of the recency
// list; a new one is allocated after evicting the least recently updated producers over the bound.
ProducerEntry& ProducerStateTable::entry_for_update(std::int64_t producer_id) {
  SLUICE_ASSERT(producer_id >= 0, "producer_id=%lld", static_cast<long long>(producer_id));
  if (auto it = index_.find(producer_id); it != index_.end()) {
    if (it->second != newest_) {
      unlink(it->second);
      link_newest(it->second);
    }
    return slots_[it->second].entry;
  }
  while (index_.size() >= producers_max_) evict_oldest();
  std::uint32_t slot = slot_allocate(producer_id);
  index_.emplace(producer_id, slot);
  SLUICE_ASSERT(newest_ == slot, "newest=%u slot=%u", newest_, slot);
  return slots_[slot].entry;
}

std::uint32_t ProducerStateTable::slot_allocate(std::int64_t producer_id) {
  std::uint32_t slot;
  if (!slots_free_.empty()) {
    slot = slots_free_.back();
    slots_free_.pop_back();
  } else {
    SLUICE_ASSERT(slots_.size() < slot_none, "slots=%zu", slots_.size());
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  SLUICE_ASSERT(slots_[slot].producer_id == -1, "slot=%u in use by %lld", slot,
                static_cast<long long>(slots_[slot].producer_id));
  slots_[slot].producer_id = producer_id;
  link_newest(slot);
  return slot;
}

void ProducerStateTable::slot_remove(std::uint32_t slot) {
  std::size_t erased = index_.erase(slots_[slot].producer_id);
  SLUICE_ASSERT(erased == 1, "slot=%u producer_id=%lld", slot, static_cast<long long>(slots_[slot].producer_id));
  unlink(slot);
  slots_[slot] = Slot{};  // frees the batches now; a free slot has producer_id -1
  slots_free_.push_back(slot);
}

void ProducerStateTable::evict_oldest() {
  SLUICE_ASSERT(oldest_ != slot_none, "producers=%zu", index_.size());
  slot_remove(oldest_);
  ++eviction_count_;
}

void ProducerStateTable::link_newest(std::uint32_t slot) {
  Slot& s = slots_[slot];
  SLUICE_ASSERT(s.older == slot_none && s.newer == slot_none, "slot=%u still linked", slot);
  s.older = newest_;
  if (newest_ != slot_none) slots_[newest_].newer = slot;
  else oldest_ = slot;
  newest_ = slot;
}

void ProducerStateTable::unlink(std::uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.older != slot_none) slots_[s.older].newer = s.newer;
  else oldest_ = s.newer;
  if (s.newer != slot_none) slots_[s.newer].older = s.older;
  else newest_ = s.older;
  s.older = slot_none;
  s.newer = slot_none;
}

ProducerCheck ProducerStateTable::check(const RecordBatchHeader& header) const {
  SLUICE_ASSERT(header.last_offset_delta >= 0, "last_offset_delta=%d", header.last_offset_delta);
  if (header.producer_id < 0) return {};
  const ProducerEntry* entry = find(header.producer_id);
  // An unknown producer (or one whose records are all gone) may start at any sequence: Kafka
  // accepts when the current epoch is NO_PRODUCER_EPOCH.
  if (entry == nullptr || entry->epoch == producer_epoch_none) return {};
  // UnifiedLog.analyzeAndValidateProducerState looks for a duplicate before any other check.
  if (auto original = find_duplicate(*entry, header)) return {ErrorCode::none, original};
  // Kafka 2.7+ answers INVALID_PRODUCER_EPOCH (not PRODUCER_FENCED) to a produce.
  if (header.producer_epoch < entry->epoch) return {ErrorCode::invalid_producer_epoch, std::nullopt};
  if (header.producer_epoch != entry->epoch) {
    // A new epoch starts its sequences at 0.
    if (header.base_sequence != 0) return {ErrorCode::out_of_order_sequence_number, std::nullopt};
    return {};
  }
  std::int32_t last = entry->batches.empty() ? -1 : entry->batches.back().last_sequence;
  if (!in_sequence(last, header.base_sequence)) return {ErrorCode::out_of_order_sequence_number, std::nullopt};
  return {};
}

void ProducerStateTable::update(const RecordBatchHeader& header) {
  if (header.producer_id < 0) return;
  ProducerEntry& entry = entry_for_update(header.producer_id);
  // Kafka's ProducerStateEntry.addBatch: a new epoch forgets the old epoch's batches.
  if (entry.epoch != header.producer_epoch) {
    entry.batches.clear();
    entry.epoch = header.producer_epoch;
  }
  entry.batches.push_back(ProducerBatch{header.base_sequence, last_sequence_of(header), header.base_offset,
                                        header.last_offset(), header.max_timestamp});
  if (entry.batches.size() > producer_batches_max) entry.batches.pop_front();
  // Kafka's ProducerStateEntry.addBatch sets lastTimestamp to the batch's maxTimestamp.
  entry.last_timestamp = header.max_timestamp;
  SLUICE_ASSERT(entry.batches.size() <= producer_batches_max, "batches=%zu", entry.batches.size());
  SLUICE_ASSERT(index_.size() <= producers_max_, "producers=%zu max=%zu", index_.size(), producers_max_);
}

}  // namespace sluice::storage
