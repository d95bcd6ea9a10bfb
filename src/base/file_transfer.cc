#include "base/file_transfer.h"

namespace sluice {

static_assert(static_cast<std::size_t>(FileTransfer::kCopy) + 1 == file_transfer_names.size(),
              "every FileTransfer has a name");

std::optional<FileTransfer> parse_file_transfer(std::string_view name) {
  for (std::size_t index = 0; index < file_transfer_names.size(); ++index) {
    if (file_transfer_names[index] == name) return static_cast<FileTransfer>(index);
  }
  return std::nullopt;
}

}  // namespace sluice
