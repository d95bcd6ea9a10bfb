#include "perf_options.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace sluice::perf {

void fail(const char* format, ...) {
  std::fprintf(stderr, "sluice-perf: ");
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fprintf(stderr, "\n");
  std::exit(1);
}

Options::Options(int argc, char** argv, int first) {
  for (int i = first; i < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::fprintf(stderr, "sluice-perf: expected --name value, got '%s'\n", argv[i]);
      std::exit(2);
    }
    values_[name.substr(2)] = argv[i + 1];
  }
}

std::string Options::get_string(const std::string& name, const std::string& fallback) {
  used_.insert(name);
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::int64_t Options::get_int(const std::string& name, std::int64_t fallback) {
  std::string text = get_string(name, "");
  if (text.empty()) return fallback;
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0') fail("--%s: '%s' is not an integer", name.c_str(), text.c_str());
  return value;
}

double Options::get_double(const std::string& name, double fallback) {
  std::string text = get_string(name, "");
  if (text.empty()) return fallback;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (*end != '\0') fail("--%s: '%s' is not a number", name.c_str(), text.c_str());
  return value;
}

std::vector<std::string> Options::get_string_list(const std::string& name, const std::string& fallback) {
  std::string text = get_string(name, fallback);
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

std::vector<std::int64_t> Options::get_int_list(const std::string& name, const std::string& fallback) {
  std::vector<std::int64_t> numbers;
  for (const std::string& item : get_string_list(name, fallback)) {
    char* end = nullptr;
    long long value = std::strtoll(item.c_str(), &end, 10);
    if (*end != '\0') fail("--%s: '%s' is not an integer", name.c_str(), item.c_str());
    numbers.push_back(value);
  }
  return numbers;
}

void Options::check_all_used() const {
  for (const auto& [name, value] : values_) {
    if (used_.count(name) == 0) {
      std::fprintf(stderr, "sluice-perf: unknown option --%s\n", name.c_str());
      std::exit(2);
    }
  }
}

}  // namespace sluice::perf
