// The text writer: exact output for counters, gauges and histograms, label escaping, and the
// assertions that keep a scrape well-formed (a family declared twice, a sample of the wrong kind,
// a bad name).
#include "metrics/exposition.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice::metrics {
namespace {

TEST(TextWriter, WritesHelpTypeAndSamples) {
  TextWriter out;
  out.family("sluice_things_total", Type::counter, "Things seen.");
  out.sample({{"kind", "a"}}, std::uint64_t{3});
  out.sample({{"kind", "b"}, {"zone", "x"}}, std::uint64_t{0});
  out.family("sluice_level", Type::gauge, "A level.");
  out.sample({}, std::int64_t{-2});
  out.sample({{"unit", "half"}}, 0.5);
  EXPECT_EQ(out.text(),
            "# HELP sluice_things_total Things seen.\n"
            "# TYPE sluice_things_total counter\n"
            "sluice_things_total{kind=\"a\"} 3\n"
            "sluice_things_total{kind=\"b\",zone=\"x\"} 0\n"
            "# HELP sluice_level A level.\n"
            "# TYPE sluice_level gauge\n"
            "sluice_level -2\n"
            "sluice_level{unit=\"half\"} 0.5\n");
}

TEST(TextWriter, EscapesLabelValuesAndHelp) {
  TextWriter out;
  out.family("sluice_x", Type::gauge, "Back\\slash and\nnewline, \"quotes\" stay.");
  out.sample({{"topic", "a\"b\\c\nd"}}, std::uint64_t{1});
  EXPECT_EQ(out.text(),
            "# HELP sluice_x Back\\\\slash and\\nnewline, \"quotes\" stay.\n"
            "# TYPE sluice_x gauge\n"
            "sluice_x{topic=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(TextWriter, HistogramBucketsAreCumulativeAndCountMatchesInf) {
  LatencyCell cell;
  cell.observe_ns(1000);       // bucket 0 (<= 1.024 us)
  cell.observe_ns(3000);       // bucket 2 (<= 4.096 us)
  cell.observe_ns(3000);
  cell.observe_ns(60'000'000'000);  // +Inf
  LatencyTotals totals;
  totals.add(cell);
  TextWriter out;
  out.family("sluice_op_seconds", Type::histogram, "Op time.");
  out.histogram({{"api", "Produce"}}, totals);
  const std::string& text = out.text();
  EXPECT_NE(text.find("sluice_op_seconds_bucket{api=\"Produce\",le=\"1.024e-06\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_op_seconds_bucket{api=\"Produce\",le=\"2.048e-06\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_op_seconds_bucket{api=\"Produce\",le=\"4.096e-06\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_op_seconds_bucket{api=\"Produce\",le=\"17.179869184\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_op_seconds_bucket{api=\"Produce\",le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_op_seconds_sum{api=\"Produce\"} 60.000007\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_op_seconds_count{api=\"Produce\"} 4\n"), std::string::npos) << text;
  // One line per bucket, then sum and count, after HELP and TYPE.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2 + latency_bucket_count + 2);
}

TEST(TextWriter, NamesAreChecked) {
  EXPECT_TRUE(valid_metric_name("sluice_a:b_1"));
  EXPECT_FALSE(valid_metric_name("1abc"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("topic"));
  EXPECT_FALSE(valid_label_name("a:b"));
}

TEST(TextWriterDeathTest, FamilyTwiceOrWrongSampleKindStops) {
  EXPECT_DEATH(
      {
        TextWriter out;
        out.family("sluice_a", Type::gauge, "A.");
        out.family("sluice_a", Type::gauge, "A.");
      },
      "declared twice");
  EXPECT_DEATH(
      {
        TextWriter out;
        out.family("sluice_h", Type::histogram, "H.");
        out.sample({}, std::uint64_t{1});
      },
      "plain sample in histogram");
  EXPECT_DEATH(
      {
        TextWriter out;
        out.family("sluice_c_total", Type::counter, "C.");
        out.sample({{"bad-label", "x"}}, std::uint64_t{1});
      },
      "bad label name");
}

}  // namespace
}  // namespace sluice::metrics
