// fetch.transfer: how a network thread sends the file ranges of a fetch response, and the one
// place its value names live. The config parser validates a value with parse_file_transfer, and
// the broker turns the validated value into the enum with the same function.
// Stateless: any thread may call.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace sluice {

// How file ranges leave (fetch.transfer). The values index file_transfer_names.
enum class FileTransfer {
  kSendfile,  // sendfile(2) from the page cache (zerocopy, the default)
  kSplice,    // splice(2) file -> pipe -> socket: the page-cache pages move by reference
  kUringSplice,  // the same two splices as a linked pair of io_uring operations
  kCopy,      // pread into a staging buffer and send, for hosts where copying measures faster
};

// The fetch.transfer values, in the enum's order.
inline constexpr std::array<std::string_view, 4> file_transfer_names = {"zerocopy", "splice", "uring-splice", "copy"};

// The transfer a fetch.transfer value names, or nullopt when `name` is none of file_transfer_names.
std::optional<FileTransfer> parse_file_transfer(std::string_view name);

}  // namespace sluice
