// sluice-dump: prints and verifies the files of a Kafka/Sluice data directory, like Kafka's
// kafka-dump-log.sh. The tool lives in the library (src/tools/dump_log.h) so the `sluice` binary
// can offer it as a subcommand; this is its standalone main. Run with --help for the options
// and the exit codes.
#include "tools/dump_log.h"

int main(int argc, char** argv) { return sluice::tools::dump_log_main(argc, argv); }
