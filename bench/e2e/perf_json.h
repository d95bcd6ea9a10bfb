// A minimal JSON writer for sluice-perf's one-object reports: keys and values are appended in
// order, commas are placed by the writer. Not a general serializer: strings are escaped for
// quotes, backslashes and control characters only. Single-threaded.
#pragma once

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sluice::perf {

class Json {
 public:
  Json& begin_object() { return open('{'); }
  Json& end_object() { return close('}'); }
  Json& begin_array() { return open('['); }
  Json& end_array() { return close(']'); }
  // The next value belongs to `name` (inside an object).
  Json& key(const std::string& name) {
    comma();
    quote(name);
    text_ += ':';
    after_key_ = true;
    return *this;
  }
  Json& value(const std::string& v) { return raw_value([&] { quote(v); }); }
  Json& value(const char* v) { return value(std::string(v)); }
  Json& value(std::int64_t v) { return raw_value([&] { text_ += std::to_string(v); }); }
  Json& value(std::uint64_t v) { return raw_value([&] { text_ += std::to_string(v); }); }
  Json& value(int v) { return value(static_cast<std::int64_t>(v)); }
  Json& value(bool v) { return raw_value([&] { text_ += v ? "true" : "false"; }); }
  Json& value(double v) {
    return raw_value([&] {
      if (!std::isfinite(v)) {
        text_ += "null";
        return;
      }
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%.6g", v);
      text_ += buffer;
    });
  }
  template <class T>
  Json& field(const std::string& name, T v) {
    key(name);
    return value(v);
  }
  const std::string& text() const { return text_; }

 private:
  template <class F>
  Json& raw_value(F write) {
    comma();
    write();
    return *this;
  }
  Json& open(char c) {
    comma();
    text_ += c;
    first_.push_back(true);
    return *this;
  }
  Json& close(char c) {
    text_ += c;
    first_.pop_back();
    return *this;
  }
  void comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) text_ += ',';
      first_.back() = false;
    }
  }
  void quote(const std::string& s) {
    text_ += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') {
        text_ += '\\';
        text_ += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buffer[8];
        std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
        text_ += buffer;
      } else {
        text_ += c;
      }
    }
    text_ += '"';
  }
  std::string text_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace sluice::perf
