// The physical limits sluice-perf measures on the same machine, in the same run, as the baselines
// the broker's figures are divided by. Each command prints one JSON object.
//   disk-write      buffered sequential write() of a file (page cache): by default --bytes
//                   (1 GiB) once, then one fdatasync (buffered_mb_per_s, with_final_sync_mb_per_s);
//                   with --duration-s S > 0, a fresh file written for S seconds or until --bytes
//                   (default 16 GiB there), whichever comes first, without fsync:
//                   sustained_mb_per_s over the run and per_second_mb (the MB/s of each second,
//                   the last over the run's remainder), so a rate that holds only while the kernel
//                   reuses recently freed pages shows its drop; the file is deleted at the end;
//   fdatasync       latency of write(N bytes) + fdatasync appended to a preallocated file, as the
//                   broker's durable mode does per group commit;
//   tcp-stream      loopback TCP throughput, one sender and one receiver thread;
//   tcp-rtt         loopback ping-pong round trip of one message;
//   file-to-socket  a page-cached file sent over loopback TCP by sendfile, splice (file -> pipe ->
//                   socket), the same splices as linked io_uring SQEs (uring-splice) or
//                   read+write, at several call sizes, with the sender's CPU per GB (sendfile,
//                   read+write and uring-splice also on a non-blocking socket that waits in
//                   poll for room: the -nb methods); the file
//                   is written in --write-bytes calls (1 MiB), which sets its page-cache folios;
//   open-files      opens, fstats and closes every file under a directory (the I/O floor of a
//                   broker start that opens every partition's files);
//   wake-lateness   how late a sleeping thread pinned to each CPU runs after its due times on a
//                   --period-us grid: the delay the machine alone adds to work arriving at a
//                   steady rate (the floor under end-to-end latency percentiles), per CPU and
//                   for either of them (limits_cpu.cc).
// Threads: each command runs on the main thread plus, for the socket commands, one receiver
// thread; --sender-cpu / --receiver-cpu pin them (and uring-splice's io-wq workers to the sender's);
// wake-lateness runs one probe thread per CPU of --cpus.
#pragma once

#include "perf_options.h"

namespace sluice::perf {

int command_disk_write(Options& options);
int command_fdatasync(Options& options);
int command_tcp_stream(Options& options);
int command_tcp_rtt(Options& options);
int command_file_to_socket(Options& options);
int command_open_files(Options& options);
int command_wake_lateness(Options& options);

}  // namespace sluice::perf
