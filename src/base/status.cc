#include "base/status.h"

#include <cstring>

namespace sluice {

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return message_ + ": " + std::strerror(errno_);
}

}  // namespace sluice
