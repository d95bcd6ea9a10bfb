// Command-line options of sluice-perf: "--name value" pairs after the command word, read through
// typed getters with defaults. Every option given must be read by the command (check_all_used),
// so a misspelled option fails the run instead of being ignored.
// Single-threaded: parsed and read on the main thread before workers start.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sluice::perf {

class Options {
 public:
  // Requires: argv[first..argc) alternates "--name" and "value". Exits with status 2 otherwise.
  Options(int argc, char** argv, int first);

  std::string get_string(const std::string& name, const std::string& fallback);
  std::int64_t get_int(const std::string& name, std::int64_t fallback);
  double get_double(const std::string& name, double fallback);
  // A comma-separated list of integers ("16384,65536").
  std::vector<std::int64_t> get_int_list(const std::string& name, const std::string& fallback);
  std::vector<std::string> get_string_list(const std::string& name, const std::string& fallback);
  // Exits with status 2 naming any option that no getter asked for.
  void check_all_used() const;

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
};

// Prints "sluice-perf: <message>" to stderr and exits with status 1.
[[noreturn]] void fail(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace sluice::perf
