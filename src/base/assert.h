// Assertions that stay on in release builds: an invariant that breaks is our bug, and we stop
// with the values that broke it rather than run on with a corrupted state.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace sluice::detail {
[[noreturn]] void assert_fail(const char* expression, const char* file, int line, const char* message);
}  // namespace sluice::detail

// SLUICE_ASSERT(condition) or SLUICE_ASSERT(condition, "printf format", args...).
#define SLUICE_ASSERT(condition, ...)                                                        \
  do {                                                                                       \
    if (__builtin_expect(!(condition), 0)) {                                                 \
      char sluice_assert_message_[512] = "";                                                 \
      __VA_OPT__(std::snprintf(sluice_assert_message_, sizeof sluice_assert_message_, __VA_ARGS__);) \
      ::sluice::detail::assert_fail(#condition, __FILE__, __LINE__, sluice_assert_message_); \
    }                                                                                        \
  } while (0)
