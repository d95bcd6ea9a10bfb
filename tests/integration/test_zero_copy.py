"""Zero-copy fetch: produce a large topic, then trace the broker with strace while kcat reads it
all.  The bytes the broker's sendfile/splice calls moved must cover the log data it served, so
record bytes went from the page cache to the socket without passing through user space."""

import os
import re
import subprocess
import time

import harness
import kproto
from harness import KCAT, Broker, run

TOPIC = "zerocopy"
RECORD_BYTES = 1000
RECORDS = 64 * 1024  # 64 MiB of values.
TRACED = ("sendfile", "sendfile64", "splice")


def strace_usable():
    try:
        p = subprocess.run(["strace", "-f", "-o", "/dev/null", "true"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "strace not runnable: %r" % (e,)
    if p.returncode != 0:
        return "strace cannot trace here (ptrace not permitted?): %s" % p.stderr.decode()[-300:]
    return None


def log_data_bytes(b, topic, partition):
    """Bytes of valid batches in the partition's segment files (not preallocated space)."""
    total = 0
    d = b.partition_dir(topic, partition)
    for name in sorted(os.listdir(d)):
        if not name.endswith(".log"):
            continue
        with open(os.path.join(d, name), "rb") as f:
            pos = 0
            while True:
                f.seek(pos)
                head = f.read(17)
                if len(head) < 17:
                    break
                length = int.from_bytes(head[8:12], "big", signed=True)
                if length <= 0 or head[16] != 2:
                    break
                pos += 12 + length
            total += pos
    return total


_RESULT = re.compile(r"\)\s+=\s+(-?\d+)")


def traced_bytes(path, names=TRACED):
    """Sum of the non-negative results of the `names` calls (sendfile/splice) in an strace -f
    log, including calls split into '<unfinished ...>' and '<... sendfile resumed>' lines."""
    total = 0
    calls = 0
    if not os.path.exists(path):
        return 0, 0  # strace creates its output file only when it first writes to it.
    with open(path, errors="replace") as f:
        for line in f:
            name = None
            for n in names:
                if (" %s(" % n) in line or line.startswith(n + "(") or ("<... %s resumed>" % n) in line:
                    name = n
            if name is None or "<unfinished" in line:
                continue
            m = _RESULT.search(line)
            if m and int(m.group(1)) > 0:
                total += int(m.group(1))
                calls += 1
    return total, calls


def attach_strace(pid, out_path):
    proc = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=" + ",".join(TRACED),
                             "-o", out_path, "-p", str(pid)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)

    def attached():
        if proc.poll() is not None:
            raise harness.Skip("strace could not attach (ptrace not permitted?): %s" %
                               proc.stderr.read().decode()[-300:])
        tasks = os.listdir("/proc/%d/task" % pid)
        for t in tasks:
            with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                tracer = [line for line in f if line.startswith("TracerPid:")]
            if not tracer or tracer[0].split()[1] == "0":
                return False
        return True
    harness.wait_for(attached, 20, 0.05, "strace to attach to every broker thread")
    return proc


@harness.timeout(300)
def test_fetch_uses_sendfile():
    reason = strace_usable()
    if reason:
        raise harness.Skip(reason)
    with Broker({"num.partitions": 1}, name="zerocopy") as b:
        b.create_topic(TOPIC, 1)
        source = os.path.join(b.workdir, "input.txt")
        line = ("z" * (RECORD_BYTES - 12))
        with open(source, "w") as f:
            for i in range(RECORDS):
                f.write("%010d-%s\n" % (i, line))
        with open(source, "rb") as f:
            run([KCAT, "-P", "-b", b.bootstrap, "-t", TOPIC, "-p", "0", "-z", "none", "-m", "30",
                 "-X", "linger.ms=20", "-X", "batch.size=1000000"], timeout_s=180,
                input_bytes=f.read())
        with b.client() as c:
            hw = c.list_offsets(TOPIC, 0, -1)["offset"]
        assert hw == RECORDS, "high watermark %d after producing %d" % (hw, RECORDS)
        data_bytes = log_data_bytes(b, TOPIC, 0)
        assert data_bytes >= RECORDS * RECORD_BYTES, data_bytes

        trace_path = os.path.join(b.workdir, "strace.out")
        tracer = attach_strace(b.pid, trace_path)
        try:
            start = time.monotonic()
            out = run([KCAT, "-C", "-b", b.bootstrap, "-t", TOPIC, "-p", "0", "-o", "beginning",
                       "-e", "-q", "-m", "30", "-f", "%o\n"], timeout_s=180)
            elapsed = time.monotonic() - start
        finally:
            tracer.terminate()  # strace detaches from the broker and exits.
            try:
                tracer.wait(timeout=20)
            except subprocess.TimeoutExpired:
                tracer.kill()
                tracer.wait(timeout=10)
        offsets = out.stdout.split()
        assert len(offsets) == RECORDS, "kcat read %d records, expected %d" % (len(offsets), RECORDS)
        assert int(offsets[-1]) == RECORDS - 1
        sent, calls = traced_bytes(trace_path)
        print("log data %d bytes; sendfile/splice moved %d bytes in %d calls; consume took %.1fs"
              % (data_bytes, sent, calls, elapsed))
        assert sent >= data_bytes, \
            "sendfile/splice moved %d bytes (%d calls) but the fetches served %d bytes of log: " \
            "record bytes were copied through user space" % (sent, calls, data_bytes)
        b.assert_alive()


def read_traced(b, trace_path):
    """Reads the whole partition while strace (when usable) watches the broker; returns the
    records and the (bytes, calls) of sendfile/splice, or None when strace is not usable."""
    tracer = attach_strace(b.pid, trace_path) if strace_usable() is None else None
    flushed = tracer is not None
    try:
        with b.client() as c:
            records = kproto.read_all(c, TOPIC, 0)
    finally:
        if tracer is not None:
            tracer.terminate()  # strace detaches and flushes its output.
            try:
                tracer.wait(timeout=20)
            except subprocess.TimeoutExpired:
                tracer.kill()  # its buffered output is lost: the trace cannot be counted
                tracer.wait(timeout=10)
                flushed = False
    return records, (traced_bytes(trace_path) if flushed else None)


@harness.timeout(120)
def test_copy_transfer_mode_serves_same_bytes():
    """fetch.transfer=copy (the copy path) returns the same batches as the default path, and
    (when strace works) uses no sendfile/splice while the default path does."""
    with Broker({"num.partitions": 1}, name="copy-a") as a:
        a.create_topic(TOPIC, 1)
        with a.client() as c:
            for i in range(20):
                batch = kproto.build_batch([kproto.Record(b"r%d-%d" % (i, j) * 30) for j in range(10)])
                assert c.produce_one(TOPIC, 0, batch)["error_code"] == 0
        zero_copy, control = read_traced(a, os.path.join(a.workdir, "strace-default.out"))
        a.stop()
        copy = Broker({"num.partitions": 1, "fetch.transfer": "copy"}, name="copy-b",
                      data_dir=a.data_dir)
        with copy:
            copied, traced = read_traced(copy, os.path.join(copy.workdir, "strace-copy.out"))
        assert copied == zero_copy, "the copy path returned different records"
        if control is None:
            raise harness.Skip("records match; strace not usable, so the transfer path is unchecked")
        assert control[0] > 0, "control: the default path showed no sendfile/splice under strace"
        assert traced[0] == 0, "fetch.transfer=copy still used sendfile/splice (%d bytes in %d " \
            "calls): the setting is ignored" % traced


def read_with_transfer(a, transfer, name):
    """Restarts on `a`'s data with fetch.transfer=`transfer` (64 KiB calls) and reads the whole
    partition under strace. Returns the records and the ((bytes, calls) of splice, (bytes, calls)
    of sendfile) the trace shows, or None for the latter when strace is not usable. The trace is
    counted before the broker's work dir (which holds it) is removed."""
    b = Broker({"num.partitions": 1, "fetch.transfer": transfer, "fetch.send.chunk.bytes": 65536},
               name=name, data_dir=a.data_dir)
    with b:
        trace_path = os.path.join(b.workdir, "strace.out")
        records, traced = read_traced(b, trace_path)
        b.assert_alive()
        if traced is None:
            return records, None
        return records, (traced_bytes(trace_path, ("splice",)), traced_bytes(trace_path, ("sendfile", "sendfile64")))


@harness.timeout(180)
def test_splice_transfer_modes_serve_same_bytes():
    """fetch.transfer=splice and =uring-splice return the same batches as the default path. Under
    strace (when it works), splice mode moves them with splice(2) (file -> pipe -> socket, so
    each byte twice) and no sendfile; uring-splice mode makes neither call (its splices are
    io_uring operations)."""
    with Broker({"num.partitions": 1}, name="splice-a") as a:
        a.create_topic(TOPIC, 1)
        with a.client() as c:
            for i in range(40):
                batch = kproto.build_batch([kproto.Record(b"s%d-%d" % (i, j) * 300) for j in range(10)])
                assert c.produce_one(TOPIC, 0, batch)["error_code"] == 0
        default, _ = read_traced(a, os.path.join(a.workdir, "strace-default.out"))
        a.stop()
        data_bytes = log_data_bytes(a, TOPIC, 0)
        assert len(default) == 400
        spliced, splice_trace = read_with_transfer(a, "splice", "splice-b")
        assert spliced == default, "the splice path returned different records"
        uring, uring_trace = read_with_transfer(a, "uring-splice", "splice-c")
        assert uring == default, "the io_uring splice path returned different records"
        if splice_trace is None or uring_trace is None:
            raise harness.Skip("records match; strace not usable, so the transfer paths are unchecked")
        (splice_bytes, splice_calls), (sendfile_bytes, _) = splice_trace
        print("log data %d bytes; splice moved %d bytes in %d calls" % (data_bytes, splice_bytes, splice_calls))
        assert sendfile_bytes == 0, "fetch.transfer=splice still used sendfile (%d bytes)" % sendfile_bytes
        assert splice_bytes >= 2 * data_bytes, \
            "splice moved %d bytes in %d calls for %d bytes of log (each byte goes into the pipe and " \
            "out of it)" % (splice_bytes, splice_calls, data_bytes)
        assert uring_trace == ((0, 0), (0, 0)), "fetch.transfer=uring-splice made splice/sendfile calls %r " \
            "instead of io_uring operations" % (uring_trace,)
