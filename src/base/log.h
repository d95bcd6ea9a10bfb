// Logging to stderr, one line per event in a compact key=value form:
//   level=info component=broker event=ready listener=... ts=2025-01-02T03:04:05.678Z
// Level and component come first; the component is the src/ folder of the file that logs. Under
// journald (JOURNAL_STREAM names our stderr) the line carries no ts= (journald stamps each line)
// and starts with the syslog priority, "<6>level=info ...", so `journalctl -p warning` filters.
// Any thread may call; each line is written with a single write(2) so lines never interleave.
#pragma once

#include <cstdarg>
#include <optional>
#include <string_view>

namespace sluice {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void log_set_level(LogLevel level);
LogLevel log_get_level();
// "debug", "info", "warn", "error" in any case (and Kafka's TRACE as debug, FATAL as error).
std::optional<LogLevel> log_level_from_name(std::string_view name);
bool log_enabled(LogLevel level);
// Writes one line as above; `file` is the source file that logs (__FILE__), which names the
// component.
void log_write_at(const char* file, LogLevel level, const char* event, const char* format, ...)
    __attribute__((format(printf, 4, 5)));
// The same with component "sluice".
void log_write(LogLevel level, const char* event, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
// Whether lines go to journald (decided once, from JOURNAL_STREAM and stderr's device and inode).
bool log_to_journal();

}  // namespace sluice

#define SLUICE_LOG(level, event, ...)                                          \
  do {                                                                         \
    if (::sluice::log_enabled(::sluice::LogLevel::level))                      \
      ::sluice::log_write_at(__FILE__, ::sluice::LogLevel::level, event, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(event, ...) SLUICE_LOG(debug, event, __VA_ARGS__)
#define LOG_INFO(event, ...) SLUICE_LOG(info, event, __VA_ARGS__)
#define LOG_WARN(event, ...) SLUICE_LOG(warn, event, __VA_ARGS__)
#define LOG_ERROR(event, ...) SLUICE_LOG(error, event, __VA_ARGS__)
