// Logging to stderr in a compact key=value form (journald adds the time stamp).
// Any thread may call; each line is written with a single write(2) so lines never interleave.
#pragma once

#include <cstdarg>

namespace sluice {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void log_set_level(LogLevel level);
bool log_enabled(LogLevel level);
// Writes "level=<level> event=<event> <formatted>\n".
void log_write(LogLevel level, const char* event, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace sluice

#define SLUICE_LOG(level, event, ...)                                          \
  do {                                                                         \
    if (::sluice::log_enabled(::sluice::LogLevel::level))                      \
      ::sluice::log_write(::sluice::LogLevel::level, event, __VA_ARGS__);      \
  } while (0)
#define LOG_DEBUG(event, ...) SLUICE_LOG(debug, event, __VA_ARGS__)
#define LOG_INFO(event, ...) SLUICE_LOG(info, event, __VA_ARGS__)
#define LOG_WARN(event, ...) SLUICE_LOG(warn, event, __VA_ARGS__)
#define LOG_ERROR(event, ...) SLUICE_LOG(error, event, __VA_ARGS__)
