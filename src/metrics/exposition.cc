#include "metrics/exposition.h"

#include <charconv>
#include <cstdio>

#include "base/assert.h"

namespace sluice::metrics {
namespace {

bool name_char(char c, bool first, bool colon_allowed) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (c == ':') return colon_allowed;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, colon_allowed)) return false;
  return true;
}

void append_escaped(std::string& out, std::string_view text, bool quote_escaped) {
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote_escaped) out += "\\\"";
    else out += c;
  }
}

const char* type_name(Type type) {
  switch (type) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

// Shortest text that reads back as the same double ("0.001024", "17.179869184").
std::string format_double(double value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  SLUICE_ASSERT(error == std::errc());
  return std::string(buffer, end);
}

}  // namespace

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }
bool valid_label_name(std::string_view name) { return valid_name(name, false); }

void TextWriter::family(std::string_view name, Type type, std::string_view help) {
  SLUICE_ASSERT(valid_metric_name(name), "bad metric name '%.*s'", (int)name.size(), name.data());
  SLUICE_ASSERT(declared_.find(name) == declared_.end(), "metric family %.*s declared twice", (int)name.size(),
                name.data());
  declared_.emplace(name);
  current_ = name;
  current_type_ = type;
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  append_escaped(text_, help, false);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type_name(type);
  text_ += '\n';
}

void TextWriter::begin_sample(std::string_view suffix, Labels labels, const Label* extra) {
  SLUICE_ASSERT(!current_.empty(), "sample before any family");
  text_ += current_;
  text_ += suffix;
  if (labels.size() == 0 && extra == nullptr) return;
  text_ += '{';
  bool first = true;
  auto add = [&](const Label& label) {
    SLUICE_ASSERT(valid_label_name(label.first), "bad label name '%.*s'", (int)label.first.size(), label.first.data());
    if (!first) text_ += ',';
    first = false;
    text_ += label.first;
    text_ += "=\"";
    append_escaped(text_, label.second, true);
    text_ += '"';
  };
  for (const auto& label : labels) add(label);
  if (extra != nullptr) add(*extra);
  text_ += '}';
}

void TextWriter::append_value(std::string_view value) {
  text_ += ' ';
  text_ += value;
  text_ += '\n';
}

void TextWriter::sample(Labels labels, std::uint64_t value) {
  SLUICE_ASSERT(current_type_ != Type::histogram, "plain sample in histogram %s", current_.c_str());
  begin_sample("", labels);
  append_value(std::to_string(value));
}

void TextWriter::sample(Labels labels, std::int64_t value) {
  SLUICE_ASSERT(current_type_ == Type::gauge, "negative-capable sample in non-gauge %s", current_.c_str());
  begin_sample("", labels);
  append_value(std::to_string(value));
}

void TextWriter::sample(Labels labels, double value) {
  SLUICE_ASSERT(current_type_ != Type::histogram, "plain sample in histogram %s", current_.c_str());
  begin_sample("", labels);
  append_value(format_double(value));
}

void TextWriter::histogram(Labels labels, const LatencyTotals& totals) {
  SLUICE_ASSERT(current_type_ == Type::histogram, "histogram in non-histogram family %s", current_.c_str());
  std::uint64_t cumulative = 0;
  for (int i = 0; i < latency_bucket_count; ++i) {
    cumulative += totals.buckets[static_cast<std::size_t>(i)];
    std::string bound = i + 1 < latency_bucket_count ? format_double(static_cast<double>(latency_bucket_bound_ns(i)) / 1e9)
                                                      : std::string("+Inf");
    Label le{"le", bound};
    begin_sample("_bucket", labels, &le);
    append_value(std::to_string(cumulative));
  }
  SLUICE_ASSERT(cumulative == totals.count());
  begin_sample("_sum", labels);
  append_value(format_double(static_cast<double>(totals.sum_ns) / 1e9));
  begin_sample("_count", labels);
  append_value(std::to_string(cumulative));
}

}  // namespace sluice::metrics
