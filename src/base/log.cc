#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace sluice {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "?";
}
}  // namespace

void log_set_level(LogLevel level) { g_level.store(static_cast<int>(level)); }
bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void log_write(LogLevel level, const char* event, const char* format, ...) {
  char line[2048];
  int used = std::snprintf(line, sizeof line, "level=%s event=%s ", level_name(level), event);
  va_list args;
  va_start(args, format);
  int more = std::vsnprintf(line + used, sizeof line - used - 1, format, args);
  va_end(args);
  std::size_t length = used + (more < 0 ? 0 : static_cast<std::size_t>(more));
  if (length > sizeof line - 2) length = sizeof line - 2;
  line[length++] = '\n';
  ssize_t ignored = ::write(2, line, length);
  (void)ignored;
}

}  // namespace sluice
