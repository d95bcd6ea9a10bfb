// Writes metrics in the Prometheus text exposition format (version 0.0.4): for each family one
// "# HELP" and one "# TYPE" line, then its samples, each family's samples together.
//
// Threads: one writer per scrape, used by one thread.
// Invariants (asserted): a family is declared once; every sample belongs to the family declared
// last (a histogram's _bucket/_sum/_count samples to its histogram); names match
// [a-zA-Z_:][a-zA-Z0-9_:]*. Label values are escaped (\\, \", \n).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "metrics/histogram.h"

namespace sluice::metrics {

using Label = std::pair<std::string_view, std::string_view>;
using Labels = std::initializer_list<Label>;

enum class Type { counter, gauge, histogram };

class TextWriter {
 public:
  // Starts a family. `help` is one line of text.
  void family(std::string_view name, Type type, std::string_view help);
  // One sample of the current counter or gauge family.
  void sample(Labels labels, std::uint64_t value);
  void sample(Labels labels, std::int64_t value);
  void sample(Labels labels, double value);
  // One labelled histogram of the current histogram family, in seconds.
  void histogram(Labels labels, const LatencyTotals& totals);

  const std::string& text() const { return text_; }
  std::string take() { return std::move(text_); }

 private:
  void begin_sample(std::string_view suffix, Labels labels, const Label* extra = nullptr);
  void append_value(std::string_view value);

  std::string text_;
  std::string current_;  // the family being written
  Type current_type_ = Type::gauge;
  std::set<std::string, std::less<>> declared_;
};

// Whether `name` is a valid metric or label name (label names may not contain ':').
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace sluice::metrics
