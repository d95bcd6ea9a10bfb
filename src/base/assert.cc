#include "base/assert.h"

namespace sluice::detail {

void assert_fail(const char* expression, const char* file, int line, const char* message) {
  std::fprintf(stderr, "level=fatal event=assert expr=\"%s\" at=%s:%d msg=\"%s\"\n", expression, file,
               line, message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace sluice::detail
