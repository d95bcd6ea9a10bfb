// Status and Result<T>: how a failure of the environment (EIO, ENOSPC, a peer reset) travels to the
// code that can decide what to do. Client mistakes are not Statuses: they are Kafka ErrorCodes in
// the response (see error_code.h). Broken invariants are assertions (see assert.h).
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace sluice {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  // Requires: errno_value != 0.
  static Status from_errno(int errno_value, std::string context) {
    SLUICE_ASSERT(errno_value != 0);
    return Status(errno_value, std::move(context));
  }
  static Status error(std::string message) { return Status(EINVAL, std::move(message)); }

  bool is_ok() const { return errno_ == 0; }
  int errno_value() const { return errno_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Status(int errno_value, std::string message) : errno_(errno_value), message_(std::move(message)) {}
  int errno_ = 0;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : value_(std::move(status)) {  // NOLINT
    SLUICE_ASSERT(!std::get<Status>(value_).is_ok(), "a Result needs a value or a failed Status");
  }
  bool is_ok() const { return std::holds_alternative<T>(value_); }
  const Status& status() const {
    SLUICE_ASSERT(!is_ok());
    return std::get<Status>(value_);
  }
  T& value() & {
    SLUICE_ASSERT(is_ok(), "%s", std::get<Status>(value_).message().c_str());
    return std::get<T>(value_);
  }
  T&& value() && {
    SLUICE_ASSERT(is_ok(), "%s", std::get<Status>(value_).message().c_str());
    return std::get<T>(std::move(value_));
  }
  const T& value() const& {
    SLUICE_ASSERT(is_ok(), "%s", std::get<Status>(value_).message().c_str());
    return std::get<T>(value_);
  }

 private:
  std::variant<T, Status> value_;
};

}  // namespace sluice
