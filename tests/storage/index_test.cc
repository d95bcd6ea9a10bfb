// Goal: the .index and .timeindex files have Kafka's byte layout (big-endian relative offsets,
// positions and timestamps), are preallocated while active and trimmed after, and look up like
// Kafka's (largest entry at or below the target).
#include "storage/index.h"

#include <gtest/gtest.h>

#include "base/endian.h"
#include "test_dir.h"

namespace sluice::storage {
namespace {

TEST(OffsetIndex, LayoutPreallocationTrimAndLookup) {
  test::TempDir dir;
  auto path = dir.path() / "00000000000000000100.index";
  auto index = OffsetIndex::open(path, 100, 1003, true);
  ASSERT_TRUE(index.is_ok());
  auto& i = *index.value();
  EXPECT_EQ(std::filesystem::file_size(path), 1000u);  // rounded down to whole entries
  EXPECT_EQ(i.file().entry_count_max(), 125u);
  i.append(105, 4100);
  i.append(110, 8300);
  i.append(170, 12500);
  EXPECT_EQ(i.lookup(99).offset, 100);
  EXPECT_EQ(i.lookup(99).position, 0u);
  EXPECT_EQ(i.lookup(104).position, 0u);
  EXPECT_EQ(i.lookup(105).position, 4100u);
  EXPECT_EQ(i.lookup(169).position, 8300u);
  EXPECT_EQ(i.lookup(1000).position, 12500u);
  EXPECT_FALSE(i.lookup_bounded(4099, 1000));
  EXPECT_EQ(i.lookup_bounded(9000, 1000)->position, 8300u);
  EXPECT_EQ(i.lookup_bounded(20000, 170)->position, 8300u);
  EXPECT_TRUE(i.sane(20000));
  EXPECT_FALSE(i.sane(12500));
  ASSERT_TRUE(i.file().trim().is_ok());
  EXPECT_EQ(std::filesystem::file_size(path), 24u);
  auto bytes = test::read_file(path);
  const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
  EXPECT_EQ(load_be32(p + 0), 5u);
  EXPECT_EQ(load_be32(p + 4), 4100u);
  EXPECT_EQ(load_be32(p + 8), 10u);
  EXPECT_EQ(load_be32(p + 12), 8300u);
  EXPECT_EQ(load_be32(p + 16), 70u);
  EXPECT_EQ(load_be32(p + 20), 12500u);

  index.value().reset();
  auto reopened = OffsetIndex::open(path, 100, 1003, false);
  ASSERT_TRUE(reopened.is_ok());
  EXPECT_EQ(reopened.value()->file().entry_count(), 3u);
  EXPECT_EQ(reopened.value()->lookup(111).position, 8300u);
}

// An index holds no fd between calls (a broker's open files are one per segment): appends go
// through the mapping, and resizing, syncing and a flush's fd open the file by path.
TEST(IndexFile, KeepsNoFdOpenAndFollowsARename) {
  test::TempDir dir;
  auto open_fds = [] {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
    return count;
  };
  const std::size_t before = open_fds();
  auto cleaned = dir.path() / "00000000000000000000.index.cleaned";
  auto index = OffsetIndex::open(cleaned, 0, 800, true);
  ASSERT_TRUE(index.is_ok());
  auto& i = *index.value();
  EXPECT_EQ(open_fds(), before);
  i.append(3, 100);
  ASSERT_TRUE(i.file().trim().is_ok());
  ASSERT_TRUE(i.file().sync().is_ok());
  EXPECT_EQ(open_fds(), before);
  EXPECT_EQ(std::filesystem::file_size(cleaned), 8u);
  {
    UniqueFd fd = i.file().open_fd();
    EXPECT_GE(fd.get(), 0);
    EXPECT_EQ(open_fds(), before + 1);
  }
  EXPECT_EQ(open_fds(), before);
  auto final_path = dir.path() / "00000000000000000000.index";
  std::filesystem::rename(cleaned, final_path);
  EXPECT_LT(i.file().open_fd().get(), 0);  // the old name is gone
  i.file().set_path(final_path);
  ASSERT_TRUE(i.file().make_active(800).is_ok());
  EXPECT_EQ(std::filesystem::file_size(final_path), 800u);
  i.append(9, 200);
  EXPECT_EQ(i.lookup(9).position, 200u);
  EXPECT_EQ(open_fds(), before);
}

TEST(OffsetIndex, PreallocatedZerosAreNotSane) {
  test::TempDir dir;
  auto path = dir.path() / "00000000000000000000.index";
  {
    auto index = OffsetIndex::open(path, 0, 80, true);
    ASSERT_TRUE(index.is_ok());
    index.value()->append(3, 500);
  }  // not trimmed: a crash while active
  auto reopened = OffsetIndex::open(path, 0, 80, false);
  ASSERT_TRUE(reopened.is_ok());
  EXPECT_EQ(reopened.value()->file().entry_count(), 10u);
  EXPECT_FALSE(reopened.value()->sane(100000));
}

TEST(TimeIndex, LayoutAndMaybeAppend) {
  test::TempDir dir;
  auto path = dir.path() / "00000000000000000050.timeindex";
  auto index = TimeIndex::open(path, 50, 120, true);
  ASSERT_TRUE(index.is_ok());
  auto& t = *index.value();
  EXPECT_EQ(std::filesystem::file_size(path), 120u);
  t.maybe_append(-1, 50);  // NO_TIMESTAMP is never indexed
  EXPECT_EQ(t.file().entry_count(), 0u);
  t.maybe_append(1000, 55);
  t.maybe_append(1000, 60);  // not greater: skipped
  t.maybe_append(999, 61);
  t.maybe_append(2000, 70);
  EXPECT_EQ(t.file().entry_count(), 2u);
  EXPECT_EQ(t.lookup(500).timestamp, -1);
  EXPECT_EQ(t.lookup(500).offset, 50);
  EXPECT_EQ(t.lookup(1500).offset, 55);
  EXPECT_EQ(t.lookup(2000).offset, 70);
  EXPECT_TRUE(t.sane());
  ASSERT_TRUE(t.file().trim().is_ok());
  auto bytes = test::read_file(path);
  ASSERT_EQ(bytes.size(), 24u);
  const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
  EXPECT_EQ(load_be64(p), 1000u);
  EXPECT_EQ(load_be32(p + 8), 5u);
  EXPECT_EQ(load_be64(p + 12), 2000u);
  EXPECT_EQ(load_be32(p + 20), 20u);
}

}  // namespace
}  // namespace sluice::storage
