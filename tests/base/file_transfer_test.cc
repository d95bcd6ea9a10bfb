// Checks that each fetch.transfer name parses to its own FileTransfer and that the config parser
// accepts exactly those names: every listed name round-trips, and near-misses are refused by both.
#include "base/file_transfer.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "base/config.h"

namespace sluice {
namespace {

TEST(FileTransfer, EachNameParsesToItsOwnTransfer) {
  std::set<FileTransfer> seen;
  for (std::string_view name : file_transfer_names) {
    std::optional<FileTransfer> transfer = parse_file_transfer(name);
    ASSERT_TRUE(transfer.has_value()) << name;
    EXPECT_EQ(file_transfer_names[static_cast<std::size_t>(*transfer)], name);
    seen.insert(*transfer);
  }
  EXPECT_EQ(seen.size(), file_transfer_names.size());
  EXPECT_EQ(parse_file_transfer("zerocopy"), FileTransfer::kSendfile);
  EXPECT_EQ(parse_file_transfer("splice"), FileTransfer::kSplice);
  EXPECT_EQ(parse_file_transfer("uring-splice"), FileTransfer::kUringSplice);
  EXPECT_EQ(parse_file_transfer("copy"), FileTransfer::kCopy);
}

TEST(FileTransfer, NearMissesAreRefused) {
  for (std::string_view name : {"", "sendfile", "Copy", "splice ", "uring_splice", "zerocopyx"})
    EXPECT_FALSE(parse_file_transfer(name).has_value()) << "'" << name << "'";
}

TEST(FileTransfer, ConfigAcceptsExactlyTheNames) {
  for (std::string_view name : file_transfer_names) {
    Config config;
    std::vector<std::string> unknown;
    ASSERT_TRUE(apply_properties({{"fetch.transfer", std::string(name)}}, config, unknown).is_ok()) << name;
    EXPECT_EQ(config.fetch_transfer, name);
  }
  Config config;
  std::vector<std::string> unknown;
  Status status = apply_properties({{"fetch.transfer", "sendfile"}}, config, unknown);
  EXPECT_FALSE(status.is_ok());
  EXPECT_EQ(status.message(), "bad value for fetch.transfer: 'sendfile'");
  EXPECT_EQ(config.fetch_transfer, "zerocopy");
}

}  // namespace
}  // namespace sluice
