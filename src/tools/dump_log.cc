// dump-log's command line and the dispatch of each file to its dumper by suffix or name.
#include "tools/dump_log.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "tools/dump_internal.h"

namespace sluice::tools {
namespace {

namespace fs = std::filesystem;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void add_files(std::string_view list, std::vector<std::string>* files) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) files->emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

template <class T>
bool parse_number(std::string_view text, T min, T max, T* out) {
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) return false;
  *out = value;
  return true;
}

// Kafka's suffixes for files on their way out (".deleted"), in compaction (".cleaned", ".swap"):
// the content is that of the inner suffix.
std::string_view strip_transient_suffix(std::string_view name) {
  for (std::string_view suffix : {".deleted", ".cleaned", ".swap"})
    if (ends_with(name, suffix)) return name.substr(0, name.size() - suffix.size());
  return name;
}

void dump_one(dump::Context& ctx, const fs::path& path) {
  std::fprintf(ctx.out, "Dumping %s\n", path.c_str());
  std::string name(strip_transient_suffix(path.filename().string()));
  if (ends_with(name, ".log")) return dump::dump_log_segment(ctx, path);
  if (ends_with(name, ".timeindex")) return dump::dump_time_index(ctx, path);
  if (ends_with(name, ".index")) return dump::dump_offset_index(ctx, path);
  if (ends_with(name, ".snapshot")) return dump::dump_producer_snapshot(ctx, path);
  if (ends_with(name, ".txnindex")) return dump::dump_txn_index(ctx, path);
  if (dump::dump_named_state_file(ctx, path)) return;
  std::fprintf(ctx.err, "Ignoring unknown file %s\n", path.c_str());
  ctx.unreadable();
}

}  // namespace

std::string dump_log_usage(const char* program) {
  std::string text = "Usage: ";
  text += program;
  text += R"( [options] [--files file1,file2,...] [file...]
Parses Kafka/Sluice data files and prints their contents, like kafka-dump-log.sh; useful for
debugging a seemingly corrupt log segment. Files are only read.

File types (by suffix or name):
  .log                 batch headers (Kafka's line format) and a summary line
  .index, .timeindex   index entries, verified against the .log next to them
  .snapshot            producer state snapshot entries
  .txnindex            aborted transactions
  recovery-point-offset-checkpoint, replication-offset-checkpoint, log-start-offset-checkpoint,
  cleaner-offset-checkpoint, leader-epoch-checkpoint, partition.metadata, meta.properties,
  .kafka_cleanshutdown
  A trailing .deleted, .cleaned or .swap is looked through.

Options:
  --files <f1,f2,...>        comma separated list of files to dump (or give them as arguments)
  --deep-iteration           print every record, not only batch headers (decompresses)
  --print-data-log           also print each record's key and payload (implies --deep-iteration)
  --offsets-decoder          decode records as __consumer_offsets records (implies --print-data-log)
  --skip-record-metadata     with --print-data-log, print only keys and payloads
  --verify-index-only        check .index/.timeindex entries against the .log without printing them
  --index-sanity-check       only run the sanity check the broker runs on an index at startup
  --max-message-size <bytes> largest batch read at an index entry (default 5242880)
  --max-bytes <bytes>        read at most this many bytes of each .log (default 2147483647)
  -h, --help                 print this help

Exit codes:
  0   every file was dumped and every check passed
  1   a file is damaged or inconsistent: a batch with a bad CRC, length, magic or codec, a torn or
      garbage tail, records that do not decode, offsets that do not increase, an index entry that
      does not match the log, a failed sanity check, a corrupt snapshot or checkpoint
  2   a file could not be read (missing, permissions, I/O error) or has an unknown type
  64  bad command line
)";
  return text;
}

bool parse_dump_log_options(int argc, char** argv, DumpLogOptions* options, std::string* error, bool* help) {
  *help = false;
  error->clear();
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.substr(0, 2) == "--" && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto take_value = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      *help = true;
      return false;
    } else if (arg == "--files") {
      if (!take_value()) return *error = "--files needs a value", false;
      add_files(value, &options->files);
    } else if (arg == "--deep-iteration") {
      options->deep_iteration = true;
    } else if (arg == "--print-data-log") {
      options->print_data_log = true;
    } else if (arg == "--offsets-decoder") {
      options->offsets_decoder = true;
    } else if (arg == "--skip-record-metadata") {
      options->skip_record_metadata = true;
    } else if (arg == "--verify-index-only") {
      options->verify_index_only = true;
    } else if (arg == "--index-sanity-check") {
      options->index_sanity_check = true;
    } else if (arg == "--max-message-size") {
      if (!take_value() || !parse_number<std::uint32_t>(value, 1, INT32_MAX, &options->message_bytes_max))
        return *error = "--max-message-size needs a number of bytes (1.." + std::to_string(INT32_MAX) + ")", false;
    } else if (arg == "--max-bytes") {
      if (!take_value() || !parse_number<std::uint64_t>(value, 0, UINT64_MAX, &options->log_bytes_max))
        return *error = "--max-bytes needs a number of bytes", false;
    } else if (arg == "--key-decoder-class" || arg == "--value-decoder-class" || arg == "--transaction-log-decoder" ||
               arg == "--cluster-metadata-decoder" || arg == "--remote-log-metadata-decoder" ||
               arg == "--share-group-state-decoder") {
      return *error = std::string(arg) + " is not supported (keys and values print as escaped text)", false;
    } else if (arg.size() > 1 && arg[0] == '-') {
      return *error = "unknown option " + std::string(arg), false;
    } else {
      options->files.emplace_back(arg);
    }
  }
  if (options->offsets_decoder) options->print_data_log = true;
  if (options->print_data_log) options->deep_iteration = true;
  if (options->files.empty()) return *error = "no files given (--files or arguments)", false;
  return true;
}

int dump_log_run(const DumpLogOptions& options, std::FILE* out, std::FILE* err) {
  dump::Context ctx{options, out, err};
  for (const auto& file : options.files) {
    dump_one(ctx, fs::path(file));
    std::fflush(out);
  }
  return ctx.exit_code;
}

int dump_log_main(int argc, char** argv) {
  DumpLogOptions options;
  std::string error;
  bool help = false;
  const char* program = argc > 0 && argv[0] != nullptr ? argv[0] : "dump-log";
  if (!parse_dump_log_options(argc, argv, &options, &error, &help)) {
    if (help) {
      std::fputs(dump_log_usage(program).c_str(), stdout);
      return dump_exit_ok;
    }
    std::fprintf(stderr, "%s: %s\n\n%s", program, error.c_str(), dump_log_usage(program).c_str());
    return dump_exit_usage;
  }
  int code = dump_log_run(options, stdout, stderr);
  std::fflush(stdout);
  return code;
}

}  // namespace sluice::tools
