"""Turns the harness's measurements into figures: each figure is a Sluice value next to the
baseline it is divided by (a physical limit or a peer, measured in the same run), printed as a
table, written into the JSON, plotted with gnuplot, and (full mode) written into the table of
bench/e2e/README.md between its markers.

A figure whose Sluice value or baseline is missing (a phase failed or was skipped) is listed with
ratio null, so the table always shows what was not measured.
"""

import os
import shutil
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, "README.md")
TABLE_BEGIN = "<!-- e2e-table:begin -->"
TABLE_END = "<!-- e2e-table:end -->"


def get(tree, *path):
    """tree[path[0]][path[1]]..., or None when any step is missing."""
    for step in path:
        if isinstance(tree, dict) and step in tree:
            tree = tree[step]
        elif isinstance(tree, list) and isinstance(step, int) and -len(tree) <= step < len(tree):
            tree = tree[step]
        else:
            return None
    return tree


def size_label(record_bytes):
    return "%d KiB" % (record_bytes // 1024) if record_bytes >= 1024 and record_bytes % 1024 == 0 \
        else "%d B" % record_bytes


def figure(name, value, unit, baseline_name, baseline_value, better, note=""):
    ratio = None
    if isinstance(value, (int, float)) and isinstance(baseline_value, (int, float)) and baseline_value:
        ratio = value / baseline_value
    return {"name": name, "value": value, "unit": unit, "baseline": baseline_name,
            "baseline_value": baseline_value, "ratio": ratio, "better": better, "note": note}


def best_file_to_socket(limits, methods):
    """The fastest file->socket run among `methods` (at its best call size)."""
    runs = [r for r in (get(limits, "file_to_socket", "runs") or []) if r["method"] in methods]
    return max(runs, key=lambda r: r["mb_per_s"]) if runs else None


def median_file_to_socket(limits, methods):
    """The file->socket configuration (method, call size) among `methods` with the highest median
    MB/s over the rounds, with its median MB/s and its median sender CPU s/GB (each the median of
    its own column over the same rounds), or None when no round ran."""
    groups = {}
    for run in get(limits, "file_to_socket", "all_runs") or []:
        if run["method"] in methods:
            groups.setdefault((run["method"], run["call_bytes"]), []).append(run)
    medians = [{"method": method, "call_bytes": call_bytes, "rounds": len(runs),
                "mb_per_s": statistics.median(r["mb_per_s"] for r in runs),
                "sender_cpu_s_per_gb": statistics.median(r["sender_cpu_s_per_gb"] for r in runs)}
               for (method, call_bytes), runs in groups.items()]
    return max(medians, key=lambda m: m["mb_per_s"]) if medians else None


def median_catch_up(run):
    """Medians over every catch-up read of a consume phase (run.py keeps each read's figures
    under "runs"): {reads, mb_per_s, broker_cpu_s_per_gb}, or None when they were not kept."""
    reads = get(run, "runs") or []
    if not reads and get(run, "other_runs") is not None:
        # Results from before run.py kept "runs": the best read plus "other_runs" (MB/s and CPU s
        # only). Every read of a phase reads the same backlog to its end, so the best read's
        # batch bytes stand for each.
        batch_bytes = get(run, "consume", "batch_bytes")
        reads = [{"mb_per_s": r["mb_per_s"],
                  "broker_cpu_s_per_gb": r["broker_cpu_s"] / (batch_bytes / 1e9) if batch_bytes else None}
                 for r in [{"mb_per_s": get(run, "consume", "mb_per_s"), "broker_cpu_s": get(run, "broker", "cpu_s")}]
                 + run["other_runs"]]
    if not reads:
        return None
    cpu = [r["broker_cpu_s_per_gb"] for r in reads if r.get("broker_cpu_s_per_gb") is not None]
    return {"reads": len(reads), "mb_per_s": statistics.median(r["mb_per_s"] for r in reads),
            "broker_cpu_s_per_gb": statistics.median(cpu) if len(cpu) == len(reads) else None}


def raw_name(config, fallback, suffix=" calls"):
    """'raw sendfile 64 KiB calls' for a file->socket configuration (read+write for the copy one)."""
    if not config:
        return fallback
    method = config["method"].replace("readwrite", "read+write")
    return "raw %s %s%s" % (method, size_label(config["call_bytes"]), suffix)


def median_fetch_figures(label, sluice_median, raws):
    """The median-vs-median twins of the fetch figures: the median of Sluice's catch-up reads
    against each raw configuration in `raws` ((config, is_copy) pairs, each the configuration with
    the best median over the rounds; see README: figures)."""
    reads = "median of %s reads" % (sluice_median["reads"] if sluice_median else "n/a")
    rounds = lambda c: "median of %d rounds" % c["rounds"] if c else "median"  # noqa: E731
    out = []
    for config, is_copy in raws:
        out.append(dict(figure("%s, %s" % (label, reads), get(sluice_median, "mb_per_s"), "MB/s",
                               "%s, %s" % (raw_name(config, "raw read+write" if is_copy else "raw zero-copy"),
                                           rounds(config)),
                               get(config, "mb_per_s"), "higher"), statistic="median"))
    return out


def median_cpu_figures(label, sluice_median, raws):
    """Median broker CPU s per fetched GB against the median sender CPU of each raw configuration
    in `raws` ((config, is_copy) pairs)."""
    reads = "median of %s reads" % (sluice_median["reads"] if sluice_median else "n/a")
    out = []
    for config, is_copy in raws:
        name = raw_name(config, "raw sender", suffix=" calls sender")
        if config:
            name += ", median of %d rounds" % config["rounds"]
        out.append(dict(figure("%s, %s" % (label, reads), get(sluice_median, "broker_cpu_s_per_gb"), "CPU s/GB",
                               name, get(config, "sender_cpu_s_per_gb"), "lower"), statistic="median"))
    return out


def raw_sender_name(config, is_copy):
    """'raw sendfile sender' for a best file->socket configuration ('raw read+write-nb sender', ...)."""
    if not config:
        return "raw read+write sender" if is_copy else "raw sendfile sender"
    return "raw %s sender" % config["method"].replace("readwrite", "read+write")


def fetch_figures(mb_label, cpu_label, run, baselines):
    """The figures of one catch-up read phase `run` (the default fetch.transfer or a variant): its
    MB/s, then its broker CPU s per fetched GB, each first best-vs-best against every baseline and
    then median-vs-median. `baselines` lists (best, median, is_copy): the raw file->socket
    configuration with the best run, the one with the best median, and whether it is read+write."""
    median = median_catch_up(run)
    raws = [(median_config, is_copy) for _, median_config, is_copy in baselines]
    out = [figure(mb_label, get(run, "consume", "mb_per_s"), "MB/s",
                  raw_name(best, "raw read+write" if is_copy else "raw sendfile/splice/uring-splice"),
                  get(best, "mb_per_s"), "higher")
           for best, _, is_copy in baselines]
    out += median_fetch_figures(mb_label, median, raws)
    broker_cpu = get(run, "broker", "cpu_s")
    fetched_gb = (get(run, "consume", "batch_bytes") or 0) / 1e9
    cpu_per_gb = broker_cpu / fetched_gb if broker_cpu is not None and fetched_gb > 0 else None
    out += [figure(cpu_label, cpu_per_gb, "CPU s/GB", raw_sender_name(best, is_copy), get(best, "sender_cpu_s_per_gb"),
                   "lower")
            for best, _, is_copy in baselines]
    out += median_cpu_figures(cpu_label, median, raws)
    return out


def build_figures(results):
    s = results.get("sluice", {})
    limits = results.get("limits", {})
    peers = results.get("peers", {})
    figures = []
    for size in results["profile"]["sizes"]:
        label = size_label(size)
        produce = get(s, "produce", str(size), "produce")
        redis = get(peers, "redis", str(size), "xadd")
        nats = get(peers, "nats", str(size))
        # Small records are judged by records/s, large ones by MB/s (the same ratio either way).
        metric, unit = ("records_per_s", "records/s") if size < 1024 else ("mb_per_s", "MB/s")
        mine = get(produce, metric)
        figures.append(figure("produce %s %s" % (label, unit), mine, unit,
                              "Redis XADD (AOF everysec)", get(redis, metric), "higher"))
        figures.append(figure("produce %s %s" % (label, unit), mine, unit,
                              "NATS JetStream publish (file)", get(nats, metric), "higher"))
        if size >= 1024:
            figures.append(figure("produce %s MB/s" % label, get(produce, "mb_per_s"), "MB/s",
                                  "buffered sequential write", get(limits, "disk_write", "buffered_mb_per_s"), "higher"))
    figures += sustained_write_figures(results)
    for size in results["profile"]["consume_sizes"]:
        label = size_label(size)
        consume = get(s, "consume", str(size), "consume")
        figures.append(figure("consume %s records/s" % label, get(consume, "records_per_s"), "records/s",
                              "Redis XREAD COUNT %d" % get(peers, "redis", str(size), "xread", "count")
                              if get(peers, "redis", str(size), "xread") else "Redis XREAD",
                              get(peers, "redis", str(size), "xread", "records_per_s"), "higher"))
    fetch_size = str(results["profile"]["fetch_size"])
    # Each best-vs-best fetch figure is followed by its median-vs-median twin.
    # Blocking and non-blocking (-nb: poll for room, as the broker's loop does) forms alike.
    zero_copy_methods = ("sendfile", "sendfile-nb", "splice", "uring-splice")
    zero_copy = (best_file_to_socket(limits, zero_copy_methods), median_file_to_socket(limits, zero_copy_methods), False)
    copy_methods = ("readwrite", "readwrite-nb")
    copy = (best_file_to_socket(limits, copy_methods), median_file_to_socket(limits, copy_methods), True)
    figures += fetch_figures("fetch MB/s (catch-up, %s records)" % size_label(int(fetch_size)),
                             "broker CPU s per fetched GB", get(s, "consume", fetch_size), [zero_copy, copy])
    # fetch.transfer=splice and =uring-splice against the best raw zero-copy method (when run).
    for transfer in ("splice", "uring-splice"):
        fetch_variant = get(s, "consume_" + transfer, fetch_size)
        if fetch_variant:
            figures += fetch_figures("fetch MB/s with fetch.transfer=%s" % transfer,
                                     "broker CPU s per fetched GB with fetch.transfer=%s" % transfer,
                                     fetch_variant, [zero_copy])
    # fetch.transfer=copy against the raw method it imitates.
    figures += fetch_figures("fetch MB/s with fetch.transfer=copy", "broker CPU s per fetched GB with fetch.transfer=copy",
                             get(s, "consume_copy", fetch_size), [copy])
    figures += batch_written_figures(results)
    durable = get(s, "durable", "produce", "latency")
    fsync = get(limits, "fdatasync", "latency")
    figures.append(figure("durable produce p99 (1 x 1 KiB, acks=all)", get(durable, "p99_us"), "us",
                          "raw write+fdatasync p99", get(fsync, "p99_us"), "lower"))
    half = get(s, "e2e", "0.5", "consume", "e2e_latency")
    idle = get(limits, "wake_lateness", "either", "lateness")
    for key, label in (("p99_us", "p99"), ("p999_us", "p99.9")):
        figures.append(figure("end-to-end %s at half the max rate (1 KiB)" % label, get(half, key), "us",
                              "idle machine's wake-up lateness %s (either CPU)" % label, get(idle, key), "lower"))
    scale = s.get("scale", {})
    n_part = get(scale, "partitions", "count")
    figures.append(figure("RSS per idle partition (%s partitions)" % n_part, get(scale, "partitions", "kib_per_partition"),
                          "KiB", "none (absolute)", None, "lower"))
    n_conn = get(scale, "connections", "connections")
    for peer in ("redis", "nats"):
        figures.append(figure("RSS per idle connection (%s connections)" % n_conn,
                              get(scale, "connections", "kib_per_connection"), "KiB",
                              "%s RSS per idle connection" % ("Redis" if peer == "redis" else "NATS"),
                              get(peers, "idle_" + peer, "kib_per_connection"), "lower"))
    figures.append(figure("clean restart of %s partitions" % n_part, get(scale, "restart", "serving_s"), "s",
                          "open+fstat+close every file of the data dir", get(scale, "open_files", "seconds"), "lower"))
    return figures


def batch_written_figures(results):
    """Informational (no goal): the median catch-up read of the default transfer and of
    fetch.transfer=copy against the median of the raw method's rounds on a file written in
    produce-batch-sized writes, as the broker's segments are (the goals' baselines read a file
    written in 1 MiB writes)."""
    batch = get(results, "limits", "file_to_socket_batch_written")
    if not batch:
        return []
    fetch_size = str(results["profile"]["fetch_size"])
    out = []
    for phase, method, label in (("consume", "sendfile-nb", "fetch MB/s (catch-up)"),
                                 ("consume_copy", "readwrite", "fetch MB/s with fetch.transfer=copy")):
        rounds = [r["mb_per_s"] for r in batch["all_runs"] if r["method"] == method]
        median = median_catch_up(get(results, "sluice", phase, fetch_size))
        out.append(figure("%s, median of %d reads" % (label, get(median, "reads") or 0), get(median, "mb_per_s"), "MB/s",
                          "raw %s 1 MiB calls on a file written in %d-byte writes, median of %d rounds (informational, no goal)"
                          % (method.replace("readwrite", "read+write"), batch["write_bytes"], len(rounds)),
                          statistics.median(rounds) if rounds else None, "higher"))
    return out


SUSTAINED_WRITE = "sustained buffered write (same length as a produce phase)"


def sustained_write_figures(results):
    """The sustained buffered-write limit as a row of its own, and Sluice's 1 KiB produce rate as a
    share of it (informational: no goal is set against it)."""
    sustained = get(results, "limits", "disk_write_sustained")
    rate = get(sustained, "sustained_mb_per_s")
    seconds = get(sustained, "duration_s")
    out = [figure(SUSTAINED_WRITE, rate, "MB/s", "none (absolute)", None, "higher",
                  note="MB/s in each second: %s" % ", ".join("%.0f" % mb for mb in get(sustained, "per_second_mb") or []))]
    if 1024 in results["profile"]["sizes"]:
        out.append(figure("produce 1 KiB MB/s as a share of the machine's sustained page-cache write rate",
                          get(results, "sluice", "produce", "1024", "produce", "mb_per_s"), "MB/s",
                          "sustained buffered write, %g s (informational, no goal)" % seconds if seconds else
                          "sustained buffered write (informational, no goal)", rate, "higher"))
    return out


def sustained_write_lines(results):
    """The sustained write's rate in each second, so its drop shows beside the table."""
    run = get(results, "limits", "disk_write_sustained")
    if not run:
        return []
    return ["%s: %.0f MB/s over %.1f s (%.2f GB%s); MB/s in each second: %s"
            % (SUSTAINED_WRITE, run["sustained_mb_per_s"], run["seconds"], run["bytes"] / 1e9,
               ", stopped at the byte cap" if run["reached_byte_cap"] else "",
               ", ".join("%.0f" % mb for mb in run["per_second_mb"]))]


def stall_lines(results):
    """The machine's stalls: the idle wake-up lateness, and the half-load end-to-end run repeated
    with the wake-up probe alongside, so stalls of the whole machine show beside the e2e figures."""
    out = []
    idle = get(results, "limits", "wake_lateness")
    if idle:
        lateness = idle["either"]["lateness"]
        out.append("Idle machine, a thread sleeping to due times every %d us on CPUs %s: late by p50 %.0f us, "
                   "p99 %.0f us, p99.9 %.0f us, max %.0f us; %d stalls over 5 ms on some CPU, %d on all at once."
                   % (idle["period_us"], ",".join(idle["cpus"]), lateness["p50_us"], lateness["p99_us"],
                      lateness["p999_us"], lateness["max_us"], idle["either"]["stalls_over_5ms"],
                      idle["all"]["stalls_over_5ms"]))
    probed = get(results, "sluice", "e2e_probed")
    if probed:
        e2e = probed["run"]["consume"]["e2e_latency"]
        probe = probed["wake_lateness"]
        starts = probe.get("all_stall_starts_ms", [])
        out.append("Half-load end-to-end run repeated with that probe every %d us alongside: e2e p99 %.0f us, "
                   "p99.9 %.0f us, max %.0f us; the probe was late by p99.9 %.0f us, max %.0f us, with %d stalls "
                   "over 5 ms on some CPU and %d on all CPUs at once%s."
                   % (probe["period_us"], e2e["p99_us"], e2e["p999_us"], e2e["max_us"],
                      probe["either"]["lateness"]["p999_us"], probe["either"]["lateness"]["max_us"],
                      probe["either"]["stalls_over_5ms"], probe["all"]["stalls_over_5ms"],
                      " (starting at %s ms)" % ", ".join("%.0f" % t for t in starts[:20]) if starts else ""))
    return out


def fmt(value, unit=""):
    if value is None:
        return "n/a"
    if not isinstance(value, (int, float)):
        return str(value)
    magnitude = abs(value)
    if unit in ("records/s",) and magnitude >= 1e6:
        return "%.2fM" % (value / 1e6)
    if unit in ("records/s",) and magnitude >= 1e3:
        return "%.1fk" % (value / 1e3)
    if magnitude >= 100:
        return "%.0f" % value
    if magnitude >= 10:
        return "%.1f" % value
    if magnitude >= 1:
        return "%.2f" % value
    return "%.3g" % value


def rows(figures):
    out = []
    for f in figures:
        ratio = "n/a" if f["ratio"] is None else "%.2fx" % f["ratio"]
        out.append([f["name"], "%s %s" % (fmt(f["value"], f["unit"]), f["unit"]), f["baseline"],
                    fmt(f["baseline_value"], f["unit"]), ratio, f["better"]])
    return out


HEADERS = ["figure", "sluice", "baseline", "baseline value", "ratio", "better"]


def text_table(figures):
    body = rows(figures)
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(HEADERS)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(HEADERS), line(["-" * w for w in widths])] + [line(r) for r in body])


def markdown_table(figures):
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join("---" for _ in HEADERS) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows(figures)]
    return "\n".join(out)


def client_cpu_lines(results):
    """One line per driver: its CPU share of its one core (>= 0.9 means it may be the limit)."""
    lines = []
    for entry in results.get("client_cpu", []):
        share = entry.get("cpu_share")
        flag = "  <- near a full core: may be the bottleneck" if share is not None and share >= 0.9 else ""
        lines.append("%-48s %s%s" % (entry["run"], "n/a" if share is None else "%.2f" % share, flag))
    return lines


def update_readme(results, figures, readme=README):
    """Replaces the text between the table markers of README.md with this run's table."""
    with open(readme) as f:
        text = f.read()
    if TABLE_BEGIN not in text or TABLE_END not in text:
        raise RuntimeError("%s lacks the %s / %s markers" % (readme, TABLE_BEGIN, TABLE_END))
    env = results.get("environment", {})
    head = ("Measured %s by `%s`, %s mode, broker pinned to CPU %s and the load generator to CPU %s; "
            "%s CPUs, kernel %s, load average at start %s.\n\n"
            % (env.get("started_at"), results.get("command"), results.get("mode"), results.get("pinning", {}).get("broker_cpu"),
               results.get("pinning", {}).get("client_cpu"), env.get("cpus"), env.get("kernel"),
               ", ".join("%.2f" % x for x in env.get("loadavg_at_start", []))))
    cpu = "\n".join(client_cpu_lines(results))
    sustained = "".join("\n\n" + line for line in sustained_write_lines(results) + stall_lines(results))
    block = (TABLE_BEGIN + "\n" + head + markdown_table(figures) + sustained +
             "\n\nClient CPU share of its core (1.00 = a full core):\n\n```\n" + cpu + "\n```\n" + TABLE_END)
    start = text.index(TABLE_BEGIN)
    end = text.index(TABLE_END) + len(TABLE_END)
    with open(readme, "w") as f:
        f.write(text[:start] + block + text[end:])


def write_plot_data(results, out_dir):
    """throughput.dat: size, sluice/redis/nats MB/s and records/s; latency.dat: offered load,
    e2e p50/p99/p99.9/max, produce p99 (us).  Missing values are written as NaN."""
    s = results.get("sluice", {})
    peers = results.get("peers", {})
    v = lambda x: "NaN" if x is None else "%g" % x  # noqa: E731
    with open(os.path.join(out_dir, "throughput.dat"), "w") as f:
        f.write("# record_bytes sluice_mb redis_mb nats_mb sluice_rps redis_rps nats_rps\n")
        for size in results["profile"]["sizes"]:
            p = get(s, "produce", str(size), "produce")
            r = get(peers, "redis", str(size), "xadd")
            n = get(peers, "nats", str(size))
            f.write(" ".join([str(size), v(get(p, "mb_per_s")), v(get(r, "mb_per_s")), v(get(n, "mb_per_s")),
                              v(get(p, "records_per_s")), v(get(r, "records_per_s")), v(get(n, "records_per_s"))]) + "\n")
    with open(os.path.join(out_dir, "latency.dat"), "w") as f:
        f.write("# offered_records_per_s e2e_p50_us e2e_p99_us e2e_p999_us e2e_max_us produce_p99_us\n")
        for load in results["profile"]["e2e_loads"]:
            run = get(s, "e2e", str(load))
            e2e = get(run, "consume", "e2e_latency")
            f.write(" ".join([v(get(run, "config", "rate")), v(get(e2e, "p50_us")), v(get(e2e, "p99_us")),
                              v(get(e2e, "p999_us")), v(get(e2e, "max_us")),
                              v(get(run, "produce", "latency", "p99_us"))]) + "\n")


def _has_numbers(path):
    """True when some data line of a .dat file has a measured (not NaN) value after its x."""
    with open(path) as f:
        for line in f:
            if not line.startswith("#") and any(cell != "NaN" for cell in line.split()[1:]):
                return True
    return False


def plot(results, out_dir):
    """Runs the gnuplot scripts; returns the PNG paths made (empty without gnuplot)."""
    write_plot_data(results, out_dir)
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        results["skipped"].append("plots: gnuplot not installed (tools/setup)")
        return []
    made = []
    for script, data, png in (("throughput.gp", "throughput.dat", "throughput_vs_size.png"),
                              ("latency.gp", "latency.dat", "latency_vs_load.png")):
        if not _has_numbers(os.path.join(out_dir, data)):
            results["skipped"].append("plots: %s has no measured values (phase not run?)" % data)
            continue
        out = os.path.join(out_dir, png)
        subprocess.run([gnuplot, "-e", "dir='%s'; out='%s'" % (out_dir, out), os.path.join(HERE, script)],
                       check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        made.append(out)
    return made


def stamp():
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
