#include "base/log.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

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
std::optional<LogLevel> log_level_from_name(std::string_view name) {
  std::string lower;
  for (char c : name) lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  if (lower == "debug" || lower == "trace") return LogLevel::debug;
  if (lower == "info") return LogLevel::info;
  if (lower == "warn") return LogLevel::warn;
  if (lower == "error" || lower == "fatal") return LogLevel::error;
  return std::nullopt;
}

LogLevel log_get_level() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }
bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

namespace {

// syslog priorities, as journald reads them from a "<N>" line prefix (sd-daemon(3)).
int journal_priority(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return 7;
    case LogLevel::info: return 6;
    case LogLevel::warn: return 4;
    case LogLevel::error: return 3;
  }
  return 6;
}

// "../src/storage/log.cc" -> "storage"; a file outside src/ is named by its base name.
std::string_view component_of(const char* file) {
  std::string_view path(file);
  std::size_t src = path.rfind("src/");
  if (src != std::string_view::npos) {
    std::string_view rest = path.substr(src + 4);
    std::size_t slash = rest.find('/');
    if (slash != std::string_view::npos) return rest.substr(0, slash);
  }
  std::size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return base.substr(0, base.find('.'));
}

// Appends " ts=2025-01-02T03:04:05.678Z" (UTC, milliseconds).
int format_time(char* out, std::size_t room) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  return std::snprintf(out, room, " ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                       utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, now.tv_nsec / 1000000);
}

void write_line(std::string_view component, LogLevel level, const char* event, const char* format, va_list args) {
  char line[2048];
  const bool journal = log_to_journal();
  int used = 0;
  if (journal) used = std::snprintf(line, sizeof line, "<%d>", journal_priority(level));
  used += std::snprintf(line + used, sizeof line - used, "level=%s component=%.*s event=%s ", level_name(level),
                        static_cast<int>(component.size()), component.data(), event);
  int more = std::vsnprintf(line + used, sizeof line - used - 1, format, args);
  std::size_t length = used + (more < 0 ? 0 : static_cast<std::size_t>(more));
  // Room for the time stamp (35 bytes) and the newline; a longer line is cut.
  if (length > sizeof line - 40) length = sizeof line - 40;
  while (length > 0 && line[length - 1] == ' ') --length;  // an empty format leaves a space
  if (!journal) length += static_cast<std::size_t>(format_time(line + length, sizeof line - length - 1));
  line[length++] = '\n';
  ssize_t ignored = ::write(2, line, length);
  (void)ignored;
}

}  // namespace

bool log_to_journal() {
  // systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connected to stdout/stderr;
  // when stderr was redirected elsewhere since, the numbers no longer match.
  static const bool journal = [] {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
    struct stat status {};
    if (::fstat(2, &status) != 0) return false;
    return static_cast<unsigned long long>(status.st_dev) == device &&
           static_cast<unsigned long long>(status.st_ino) == inode;
  }();
  return journal;
}

void log_write_at(const char* file, LogLevel level, const char* event, const char* format, ...) {
  va_list args;
  va_start(args, format);
  write_line(component_of(file), level, event, format, args);
  va_end(args);
}

void log_write(LogLevel level, const char* event, const char* format, ...) {
  va_list args;
  va_start(args, format);
  write_line("sluice", level, event, format, args);
  va_end(args);
}

}  // namespace sluice
