// dump-log: prints the files of a Kafka/Sluice data directory, like Kafka's kafka-dump-log.sh
// (kafka.tools.DumpLogSegments), and verifies them:
//   <base>.log        every batch header in Kafka's line format, then a summary; with
//                     --deep-iteration every record (decompressed), with --print-data-log its key
//                     and value, with --offsets-decoder __consumer_offsets records as JSON
//   <base>.index      entries, checked against the .log beside it (Kafka's "Mismatches in :")
//   <base>.timeindex  entries, checked against the .log (Kafka's "Found timestamp mismatch")
//   <base>.snapshot   producer state snapshot entries (Kafka's ProducerSnapshot v1)
//   <base>.txnindex   aborted transactions
//   checkpoint files, leader-epoch-checkpoint, partition.metadata, meta.properties,
//   .kafka_cleanshutdown
// Files are only read, never created or changed. Any content (garbage, truncated, empty) gives
// output or a clean message and an exit code; nothing in a file can make the tool crash or loop
// without bound.
//
// Threads: single-threaded; one call of dump_log_run at a time per DumpLogOptions/streams.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sluice::tools {

// Exit codes (also listed by --help).
inline constexpr int dump_exit_ok = 0;          // every file dumped, every check passed
inline constexpr int dump_exit_problem = 1;     // a file's content is damaged or inconsistent
inline constexpr int dump_exit_unreadable = 2;  // a file could not be read or has an unknown type
inline constexpr int dump_exit_usage = 64;      // bad command line (EX_USAGE)

struct DumpLogOptions {
  std::vector<std::string> files;
  bool deep_iteration = false;        // --deep-iteration (implied by print_data_log)
  bool print_data_log = false;        // --print-data-log (implied by offsets_decoder)
  bool offsets_decoder = false;       // --offsets-decoder: records are __consumer_offsets records
  bool skip_record_metadata = false;  // --skip-record-metadata
  bool verify_index_only = false;     // --verify-index-only
  bool index_sanity_check = false;    // --index-sanity-check
  std::uint32_t message_bytes_max = 5 * 1024 * 1024;  // --max-message-size (Kafka's default)
  std::uint64_t log_bytes_max = INT32_MAX;             // --max-bytes: read at most this much of a .log
};

// Parses Kafka's options (--files a,b, or files as positional arguments). On a usage error
// returns false with the message in *error; --help returns false with an empty *error and
// *help set.
bool parse_dump_log_options(int argc, char** argv, DumpLogOptions* options, std::string* error, bool* help);
std::string dump_log_usage(const char* program);

// Dumps every file in options.files to out (reports of problems go to err) and returns the
// worst exit code over the files. Requires: out and err are open streams.
int dump_log_run(const DumpLogOptions& options, std::FILE* out, std::FILE* err);

// The tool's entry point: options, help, run; returns the process exit code.
int dump_log_main(int argc, char** argv);

}  // namespace sluice::tools
