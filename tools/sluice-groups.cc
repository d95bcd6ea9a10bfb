// sluice-groups: lists, describes and manages consumer groups, like kafka-consumer-groups.sh, on any
// Kafka-compatible broker. It speaks the protocol itself (tools/kafka_client.h): ApiVersions to pick
// versions, FindCoordinator to reach each group's coordinator, Metadata to find partition leaders.
//
//   sluice-groups --bootstrap-server HOST:PORT --list
//   sluice-groups --bootstrap-server HOST:PORT --describe (--group G | --all-groups)
//                 [--members] [--offsets] [--state]          (default: all three sections)
//   sluice-groups --bootstrap-server HOST:PORT --reset-offsets --group G
//                 (--topic T[:P,P...]... | --all-topics)
//                 (--to-earliest | --to-latest | --to-current | --to-offset N | --shift-by N |
//                  --to-datetime YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm] | --to-timestamp MS)
//                 [--dry-run | --execute]
//   sluice-groups --bootstrap-server HOST:PORT --delete (--group G... | --all-groups)
//   sluice-groups --bootstrap-server HOST:PORT --delete-offsets --group G --topic T[:P,P...]...
//   Any command: [--timeout MS] bounds each connect, send and receive (default 10000).
//
// Exit status: 0 on success; 1 when the broker answers an error (its Kafka name is printed), the
// group is in the wrong state, or the network fails; 2 for bad arguments.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "group_queries.h"
#include "kafka_client.h"
#include "protocol/delete_groups.h"
#include "protocol/describe_groups.h"
#include "protocol/list_groups.h"
#include "protocol/list_offsets.h"
#include "protocol/offset_commit.h"
#include "protocol/offset_delete.h"
#include "protocol/offset_fetch.h"

namespace {

using namespace sluice;
using namespace sluice::tools;
namespace p = sluice::protocol;

constexpr int timeout_ms_default = 10000;

// ---- Arguments -------------------------------------------------------------------------------

enum class Command { none, list, describe, reset, remove, delete_offsets };
enum class ResetKind { none, earliest, latest, current, offset, shift, timestamp };

struct Options {
  std::string bootstrap;
  Command command = Command::none;
  std::vector<std::string> groups;
  bool all_groups = false;
  std::vector<std::string> topic_specs;
  bool all_topics = false;
  ResetKind reset = ResetKind::none;
  std::int64_t reset_value = 0;
  bool execute = false;
  bool dry_run = false;
  bool show_members = false;
  bool show_offsets = false;
  bool show_state = false;
  int timeout_ms = timeout_ms_default;
};

[[noreturn]] void usage_error(const char* message, const std::string& detail = "") {
  std::fprintf(stderr, "sluice-groups: %s%s\n", message, detail.c_str());
  std::fprintf(stderr,
               "usage: sluice-groups --bootstrap-server HOST:PORT\n"
               "         (--list | --describe | --reset-offsets | --delete | --delete-offsets)\n"
               "         [--group G]... [--all-groups] [--topic T[:P,P...]]... [--all-topics]\n"
               "         [--members] [--offsets] [--state]\n"
               "         [--to-earliest | --to-latest | --to-current | --to-offset N | --shift-by N |\n"
               "          --to-datetime YYYY-MM-DDTHH:mm:SS.sss | --to-timestamp MS]\n"
               "         [--dry-run | --execute] [--timeout MS]\n");
  std::exit(2);
}

std::int64_t parse_int(const std::string& text, const char* what) {
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) usage_error(what, ": '" + text + "' is not an integer");
  return value;
}

// Milliseconds since the epoch for "YYYY-MM-DDTHH:mm:SS[.fraction][Z|+hh:mm|-hh:mm|+hhmm]";
// without a zone the time is UTC.
std::optional<std::int64_t> parse_datetime(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return std::nullopt;
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  const char* rest = text.c_str() + consumed;
  std::int64_t millis = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    for (; *rest >= '0' && *rest <= '9'; ++rest, ++digits)
      if (digits < 3) millis = millis * 10 + (*rest - '0');
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) millis *= 10;
  }
  std::int64_t zone_offset_s = 0;
  if (*rest == 'Z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int hours = 0, minutes = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &hours, &minutes) != 2 &&
        std::sscanf(rest + 1, "%2d%2d", &hours, &minutes) != 2)
      return std::nullopt;
    zone_offset_s = (*rest == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
    rest += std::strlen(rest);
  }
  if (*rest != '\0') return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::int64_t seconds = static_cast<std::int64_t>(::timegm(&tm)) - zone_offset_s;
  return seconds * 1000 + millis;
}

void set_command(Options& o, Command command) {
  if (o.command != Command::none) usage_error("give exactly one of --list, --describe, --reset-offsets, --delete, --delete-offsets");
  o.command = command;
}

void set_reset(Options& o, ResetKind kind, std::int64_t value = 0) {
  if (o.reset != ResetKind::none) usage_error("give exactly one reset scenario");
  o.reset = kind;
  o.reset_value = value;
}

// Handles one option that takes a value; returns false when `flag` is not one.
bool parse_valued(Options& o, const std::string& flag, const std::string& value) {
  if (flag == "--bootstrap-server") o.bootstrap = value;
  else if (flag == "--group") o.groups.push_back(value);
  else if (flag == "--topic") o.topic_specs.push_back(value);
  else if (flag == "--to-offset") set_reset(o, ResetKind::offset, parse_int(value, "--to-offset"));
  else if (flag == "--shift-by") set_reset(o, ResetKind::shift, parse_int(value, "--shift-by"));
  else if (flag == "--to-timestamp") set_reset(o, ResetKind::timestamp, parse_int(value, "--to-timestamp"));
  else if (flag == "--timeout") o.timeout_ms = static_cast<int>(parse_int(value, "--timeout"));
  else if (flag == "--to-datetime") {
    auto ms = parse_datetime(value);
    if (!ms) usage_error("--to-datetime: expected YYYY-MM-DDTHH:mm:SS.sss, got ", value);
    set_reset(o, ResetKind::timestamp, *ms);
  } else {
    return false;
  }
  return true;
}

bool parse_flag(Options& o, const std::string& flag) {
  if (flag == "--list") set_command(o, Command::list);
  else if (flag == "--describe") set_command(o, Command::describe);
  else if (flag == "--reset-offsets") set_command(o, Command::reset);
  else if (flag == "--delete") set_command(o, Command::remove);
  else if (flag == "--delete-offsets") set_command(o, Command::delete_offsets);
  else if (flag == "--all-groups") o.all_groups = true;
  else if (flag == "--all-topics") o.all_topics = true;
  else if (flag == "--members") o.show_members = true;
  else if (flag == "--offsets") o.show_offsets = true;
  else if (flag == "--state") o.show_state = true;
  else if (flag == "--execute") o.execute = true;
  else if (flag == "--dry-run") o.dry_run = true;
  else if (flag == "--to-earliest") set_reset(o, ResetKind::earliest);
  else if (flag == "--to-latest") set_reset(o, ResetKind::latest);
  else if (flag == "--to-current") set_reset(o, ResetKind::current);
  else return false;
  return true;
}

void check_options(const Options& o) {
  if (o.bootstrap.empty()) usage_error("--bootstrap-server is required");
  if (o.command == Command::none) usage_error("no command given");
  if (o.timeout_ms <= 0) usage_error("--timeout must be positive");
  bool needs_group = o.command != Command::list;
  if (needs_group && o.groups.empty() && !o.all_groups) usage_error("--group or --all-groups is required");
  if ((o.command == Command::reset || o.command == Command::delete_offsets) &&
      (o.all_groups || o.groups.size() != 1))
    usage_error("give exactly one --group");
  if (o.command == Command::reset && o.reset == ResetKind::none) usage_error("give a reset scenario (--to-earliest, ...)");
  if (o.command == Command::reset && o.topic_specs.empty() && !o.all_topics) usage_error("--topic or --all-topics is required");
  if (o.command == Command::delete_offsets && o.topic_specs.empty()) usage_error("--topic is required");
  if (o.execute && o.dry_run) usage_error("--execute and --dry-run exclude each other");
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage_error("help");
    if (parse_flag(o, flag)) continue;
    if (i + 1 >= argc) usage_error("unknown option or missing value: ", flag);
    if (!parse_valued(o, flag, argv[i + 1])) usage_error("unknown option: ", flag);
    ++i;
  }
  check_options(o);
  return o;
}

// ---- Output ----------------------------------------------------------------------------------

// Left-aligned columns, as kafka-consumer-groups.sh prints them; empty cells print as "-".
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) {
    SLUICE_ASSERT(row.size() == rows_[0].size(), "row of %zu cells, header of %zu", row.size(), rows_[0].size());
    for (auto& cell : row)
      if (cell.empty()) cell = "-";
    rows_.push_back(std::move(row));
  }
  void print() const {
    std::vector<std::size_t> widths(rows_[0].size(), 0);
    for (const auto& row : rows_)
      for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
    for (const auto& row : rows_) {
      std::string line;
      for (std::size_t c = 0; c < row.size(); ++c) {
        line += row[c];
        if (c + 1 < row.size()) line.append(widths[c] - row[c].size() + 2, ' ');
      }
      std::printf("%s\n", line.c_str());
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string offset_text(std::int64_t offset) { return offset >= 0 ? std::to_string(offset) : "-"; }

int run_list(Cluster& cluster) {
  Table table({"GROUP", "PROTOCOL-TYPE", "STATE"});
  for (const auto& [group, listed] : list_all_groups(cluster)) table.add({group, listed.protocol_type, listed.state});
  table.print();
  return 0;
}

// ---- --describe ------------------------------------------------------------------------------

void print_state(Cluster& cluster, const GroupView& g) {
  Table table({"GROUP", "COORDINATOR (ID)", "PROTOCOL-TYPE", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"});
  table.add({g.group_id, cluster.coordinator_label(g.group_id), g.protocol_type, g.protocol, g.state,
             std::to_string(g.members.size())});
  table.print();
}

void print_members(const GroupView& g) {
  Table table({"GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"});
  for (const auto& m : g.members)
    table.add({g.group_id, m.member_id, m.group_instance_id.value_or(""), m.host, m.client_id,
               m.assignment_ok ? std::to_string(m.assignment.size()) : "?",
               m.assignment_ok ? assignment_text(m.assignment) : "<undecodable>"});
  table.print();
}

void print_offsets(Cluster& cluster, const GroupView& g) {
  std::map<TopicPartition, const MemberView*> owners;
  for (const auto& m : g.members)
    for (const auto& tp : m.assignment) owners[tp] = &m;
  auto committed = committed_offsets(cluster, g.group_id);
  std::set<TopicPartition> partitions;
  for (const auto& [tp, offset] : committed) partitions.insert(tp);
  for (const auto& [tp, owner] : owners) partitions.insert(tp);
  auto log_end = partitions.empty() ? std::map<TopicPartition, OffsetAnswer>{}
                                    : list_offsets(cluster, partitions, p::ListOffsetsRequest::timestamp_latest);
  Table table({"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"});
  for (const auto& tp : partitions) {
    std::int64_t current = committed.count(tp) ? committed[tp] : -1;
    const OffsetAnswer& end = log_end[tp];
    std::int64_t leo = end.error_code == 0 ? end.offset : -1;
    std::string lag = current >= 0 && leo >= 0 ? std::to_string(std::max<std::int64_t>(leo - current, 0)) : "-";
    const MemberView* owner = owners.count(tp) ? owners[tp] : nullptr;
    table.add({g.group_id, tp.first, std::to_string(tp.second), offset_text(current), offset_text(leo), lag,
               owner ? owner->member_id : "", owner ? owner->host : "", owner ? owner->client_id : ""});
  }
  table.print();
}

// Returns false when the group does not exist.
bool describe_one(Cluster& cluster, const Options& o, const std::string& group) {
  GroupView g = describe_group(cluster, group);
  if (!g.exists) {
    std::fprintf(stderr, "Error: Consumer group '%s' does not exist: GROUP_ID_NOT_FOUND\n", group.c_str());
    return false;
  }
  bool all = !o.show_members && !o.show_offsets && !o.show_state;
  std::printf("\n");
  if (all || o.show_state) print_state(cluster, g);
  if (g.members.empty()) std::printf("\nConsumer group '%s' has no active members.\n", group.c_str());
  if ((all || o.show_members) && !g.members.empty()) {
    std::printf("\n");
    print_members(g);
  }
  if (all || o.show_offsets) {
    std::printf("\n");
    print_offsets(cluster, g);
  }
  return true;
}

int run_describe(Cluster& cluster, const Options& o) {
  std::vector<std::string> groups = o.groups;
  if (o.all_groups)
    for (const auto& [group, listed] : list_all_groups(cluster)) groups.push_back(group);
  bool ok = true;
  for (const auto& group : groups) ok = describe_one(cluster, o, group) && ok;
  return ok ? 0 : 1;
}

// ---- --reset-offsets -------------------------------------------------------------------------

// "T" (every partition, from metadata) or "T:0,2".
std::set<TopicPartition> resolve_topic_specs(Cluster& cluster, const std::vector<std::string>& specs) {
  std::set<TopicPartition> out;
  std::set<std::string> whole_topics;
  for (const auto& spec : specs) {
    std::size_t colon = spec.find(':');
    if (colon == std::string::npos) {
      whole_topics.insert(spec);
      continue;
    }
    std::string topic = spec.substr(0, colon);
    std::string list = spec.substr(colon + 1);
    for (std::size_t start = 0; start <= list.size();) {
      std::size_t comma = std::min(list.find(',', start), list.size());
      out.emplace(topic, static_cast<std::int32_t>(parse_int(list.substr(start, comma - start), "--topic partition")));
      start = comma + 1;
    }
  }
  if (whole_topics.empty()) return out;
  auto leaders = partition_leaders(cluster, whole_topics);
  for (const auto& topic : whole_topics) {
    bool found = false;
    for (const auto& [tp, leader] : leaders)
      if (tp.first == topic) {
        out.insert(tp);
        found = true;
      }
    if (!found) die("topic '%s': UNKNOWN_TOPIC_OR_PARTITION", topic.c_str());
  }
  return out;
}

std::int64_t clamp_offset(const TopicPartition& tp, std::int64_t wanted, std::int64_t earliest, std::int64_t latest) {
  if (wanted > latest) {
    std::fprintf(stderr, "New offset (%" PRId64 ") is higher than latest offset for topic partition %s-%d. Value will be set to %" PRId64 "\n",
                 wanted, tp.first.c_str(), tp.second, latest);
    return latest;
  }
  if (wanted < earliest) {
    std::fprintf(stderr, "New offset (%" PRId64 ") is lower than earliest offset for topic partition %s-%d. Value will be set to %" PRId64 "\n",
                 wanted, tp.first.c_str(), tp.second, earliest);
    return earliest;
  }
  return wanted;
}

// The new offset of every partition in `partitions` for the chosen scenario.
std::map<TopicPartition, std::int64_t> plan_reset(Cluster& cluster, const Options& o, const std::set<TopicPartition>& partitions,
                                                  const std::map<TopicPartition, std::int64_t>& committed) {
  auto latest = list_offsets_or_die(cluster, partitions, p::ListOffsetsRequest::timestamp_latest);
  if (o.reset == ResetKind::latest) return latest;
  auto earliest = list_offsets_or_die(cluster, partitions, p::ListOffsetsRequest::timestamp_earliest);
  if (o.reset == ResetKind::earliest) return earliest;
  std::map<TopicPartition, std::int64_t> by_time;
  if (o.reset == ResetKind::timestamp) by_time = list_offsets_or_die(cluster, partitions, o.reset_value);
  std::map<TopicPartition, std::int64_t> plan;
  for (const auto& tp : partitions) {
    auto current = committed.find(tp);
    switch (o.reset) {
      case ResetKind::offset: plan[tp] = clamp_offset(tp, o.reset_value, earliest[tp], latest[tp]); break;
      case ResetKind::timestamp: plan[tp] = by_time[tp] >= 0 ? by_time[tp] : latest[tp]; break;
      case ResetKind::current: plan[tp] = current != committed.end() ? current->second : latest[tp]; break;
      case ResetKind::shift:
        if (current == committed.end())
          die("Cannot shift offset for partition %s-%d since there is no current committed offset", tp.first.c_str(), tp.second);
        plan[tp] = clamp_offset(tp, current->second + o.reset_value, earliest[tp], latest[tp]);
        break;
      default: SLUICE_ASSERT(false, "reset kind %d", static_cast<int>(o.reset));
    }
  }
  return plan;
}

// OffsetCommit as a standalone (simple) consumer: generation -1, empty member id.
void commit_offsets(Cluster& cluster, const std::string& group, const std::map<TopicPartition, std::int64_t>& plan) {
  p::OffsetCommitRequest request;
  request.group_id = group;
  for (const auto& [tp, offset] : plan) {
    if (request.topics.empty() || request.topics.back().name != tp.first) request.topics.push_back({tp.first, {}});
    request.topics.back().partitions.push_back({tp.second, offset, -1, -1, std::string()});
  }
  p::OffsetCommitResponse response;
  std::int16_t error_code = with_coordinator(cluster, group, [&](Connection& c) {
    response = c.call<p::OffsetCommitRequest, p::OffsetCommitResponse>(request, c.version_for<p::OffsetCommitRequest>());
    for (const auto& t : response.topics)
      for (const auto& partition : t.partitions)
        if (partition.error_code != 0) return partition.error_code;
    return std::int16_t{0};
  });
  if (error_code == 0) return;
  for (const auto& t : response.topics)
    for (const auto& partition : t.partitions)
      if (partition.error_code != 0)
        std::fprintf(stderr, "Error: OffsetCommit %s-%d: %s\n", t.name.c_str(), partition.partition_index,
                     kafka_error_name(partition.error_code).c_str());
  die("OffsetCommit for group '%s': %s", group.c_str(), kafka_error_name(error_code).c_str());
}

int run_reset(Cluster& cluster, const Options& o) {
  const std::string& group = o.groups[0];
  GroupView g = describe_group(cluster, group);
  if (g.exists && g.state != "Empty")
    die("Assignments can only be reset if the group '%s' is inactive, but the current state is %s.",
        group.c_str(), g.state.c_str());
  auto committed = committed_offsets(cluster, group);
  std::set<TopicPartition> partitions = resolve_topic_specs(cluster, o.topic_specs);
  if (o.all_topics) {
    std::set<std::string> topics;
    for (const auto& [tp, offset] : committed) topics.insert(tp.first);
    auto all = resolve_topic_specs(cluster, std::vector<std::string>(topics.begin(), topics.end()));
    partitions.insert(all.begin(), all.end());
  }
  if (partitions.empty()) die("no partitions to reset for group '%s'", group.c_str());
  auto plan = plan_reset(cluster, o, partitions, committed);
  if (o.execute) commit_offsets(cluster, group, plan);
  else if (!o.dry_run)
    std::fprintf(stderr, "WARN: No action will be performed as the --execute option is missing. "
                         "Add --execute to reset the offsets (this is a dry run).\n");
  std::printf("\n");
  Table table({"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"});
  for (const auto& [tp, offset] : plan) table.add({group, tp.first, std::to_string(tp.second), std::to_string(offset)});
  table.print();
  return 0;
}

// ---- --delete, --delete-offsets --------------------------------------------------------------

int run_delete(Cluster& cluster, const Options& o) {
  std::vector<std::string> groups = o.groups;
  if (o.all_groups)
    for (const auto& [group, listed] : list_all_groups(cluster)) groups.push_back(group);
  std::map<std::string, std::int16_t> results;
  for (const auto& group : groups) {
    results[group] = with_coordinator(cluster, group, [&](Connection& c) {
      p::DeleteGroupsRequest request;
      request.groups_names = {group};
      auto response = c.call<p::DeleteGroupsRequest, p::DeleteGroupsResponse>(request, c.version_for<p::DeleteGroupsRequest>());
      if (response.results.size() != 1) die("DeleteGroups answered %zu results for one", response.results.size());
      return response.results[0].error_code;
    });
  }
  std::string failed, deleted;
  for (const auto& [group, error_code] : results) {
    if (error_code == 0) deleted += (deleted.empty() ? "'" : ", '") + group + "'";
    else failed += "* Group '" + group + "' could not be deleted due to: " + kafka_error_name(error_code) + "\n";
  }
  if (!deleted.empty()) std::printf("Deletion of requested consumer groups (%s) was successful.\n", deleted.c_str());
  if (failed.empty()) return 0;
  std::fflush(stdout);
  std::fprintf(stderr, "Error: Deletion of some consumer groups failed:\n%s", failed.c_str());
  return 1;
}

int run_delete_offsets(Cluster& cluster, const Options& o) {
  const std::string& group = o.groups[0];
  std::set<TopicPartition> partitions = resolve_topic_specs(cluster, o.topic_specs);
  p::OffsetDeleteRequest request;
  request.group_id = group;
  for (const auto& [topic, partition] : partitions) {
    if (request.topics.empty() || request.topics.back().name != topic) request.topics.push_back({topic, {}});
    request.topics.back().partitions.push_back({partition});
  }
  p::OffsetDeleteResponse response;
  std::int16_t error_code = with_coordinator(cluster, group, [&](Connection& c) {
    response = c.call<p::OffsetDeleteRequest, p::OffsetDeleteResponse>(request, c.version_for<p::OffsetDeleteRequest>());
    return response.error_code;
  });
  if (error_code != 0) die("OffsetDelete for group '%s': %s", group.c_str(), kafka_error_name(error_code).c_str());
  bool ok = true;
  Table table({"TOPIC", "PARTITION", "STATUS"});
  for (const auto& t : response.topics)
    for (const auto& partition : t.partitions) {
      ok = ok && partition.error_code == 0;
      table.add({t.name, std::to_string(partition.partition_index),
                 partition.error_code == 0 ? "Successful" : "Error: " + kafka_error_name(partition.error_code)});
    }
  if (ok) std::printf("Request succeed for deleting offsets with topic %s group %s\n\n", o.topic_specs[0].c_str(), group.c_str());
  else std::printf("Request failed for deleting offsets of group %s\n\n", group.c_str());
  table.print();
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_options(argc, argv);
  Cluster cluster(o.bootstrap, o.timeout_ms);
  int status = 0;
  switch (o.command) {
    case Command::list: status = run_list(cluster); break;
    case Command::describe: status = run_describe(cluster, o); break;
    case Command::reset: status = run_reset(cluster, o); break;
    case Command::remove: status = run_delete(cluster, o); break;
    case Command::delete_offsets: status = run_delete_offsets(cluster, o); break;
    case Command::none: usage_error("no command given");
  }
  std::fflush(stdout);
  return status;
}
