"""The end-to-end harness (bench/e2e/run.py) in its quick mode: it starts the broker, the peers
(Redis, NATS) and every load generator itself, measures for about a second each, and writes JSON
and PNGs.  These tests prove the harness works end to end; they assert that every figure was
produced and that the JSON is well formed, never how fast anything was."""

import json
import os
import shutil
import sys
import tempfile

import harness

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_PY = os.path.join(REPO, "bench", "e2e", "run.py")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _build_dir():
    """The build directory of the broker under test (SLUICE_BIN is <build>/src/server/sluice)."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(harness.SLUICE_BIN))))
    if not os.access(os.path.join(build, "bench", "e2e", "sluice-perf"), os.X_OK):
        raise AssertionError("sluice-perf is not built in %s (ninja -C %s bench/e2e/sluice-perf)" % (build, build))
    return build


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@harness.timeout(110)
def test_quick_mode_produces_every_figure():
    """Runs run.py --mode quick into a temporary directory; checks the exit code, that the JSON
    parses and names every figure with a Sluice value, a baseline value and their ratio, that
    produce, consume, durable and end-to-end runs moved records without errors, and that the two
    PNGs are PNG files.  The README is not touched (quick mode leaves it alone)."""
    out_dir = tempfile.mkdtemp(prefix="e2e-quick-", dir=harness.tmp_root())
    try:
        readme = os.path.join(REPO, "bench", "e2e", "README.md")
        with open(readme, "rb") as f:
            readme_before = f.read()
        p = harness.run([sys.executable, RUN_PY, "--mode", "quick", "--build-dir", _build_dir(), "--out-dir", out_dir,
                         "--work-dir", harness.tmp_root()], timeout_s=100, check=False)
        output = p.stdout.decode("utf-8", "replace")
        assert p.returncode == 0, "run.py failed (%d):\n%s\n%s" % (p.returncode, output[-6000:],
                                                                   p.stderr.decode("utf-8", "replace")[-4000:])
        with open(os.path.join(out_dir, "results.json")) as f:
            results = json.load(f)
        assert results["schema"] == "sluice-e2e/1"
        assert results["mode"] == "quick"
        assert results["errors"] == [], results["errors"]
        # Quick mode installs nothing: the peers must be there (tools/setup installs them).
        assert results["skipped"] == [], results["skipped"]

        for size in results["profile"]["sizes"]:
            produce = results["sluice"]["produce"][str(size)]["produce"]
            assert produce["records"] > 0 and produce["errors"] == 0, produce
            assert produce["latency"]["count"] > 0
            assert results["peers"]["redis"][str(size)]["xadd"]["records_per_s"] > 0
            assert results["peers"]["nats"][str(size)]["records"] > 0
        for size in results["profile"]["consume_sizes"]:
            consume = results["sluice"]["consume"][str(size)]["consume"]
            assert consume["records"] > 0 and consume["errors"] == 0 and consume["crc_errors"] == 0, consume
            # Every partition's end offset was reached: the streamed parse walked every batch.
            assert consume["reached_end"], consume
        assert results["sluice"]["durable"]["produce"]["records"] > 0
        e2e = results["sluice"]["e2e"]["0.5"]
        assert e2e["consume"]["e2e_latency"]["count"] > 0, e2e
        assert results["sluice"]["scale"]["restart"]["serving_s"] > 0
        # The wake-up probe: idle in the limits phase, and alongside a repeated half-load run.
        idle = results["limits"]["wake_lateness"]
        assert idle["either"]["lateness"]["count"] == idle["samples_per_cpu"] > 0, idle
        assert set(idle["cpus"]) and all(c["lateness"]["count"] == idle["samples_per_cpu"] for c in idle["cpus"].values())
        probed = results["sluice"]["e2e_probed"]
        assert probed["run"]["consume"]["e2e_latency"]["count"] > 0, probed["run"]
        assert probed["wake_lateness"]["all"]["lateness"]["count"] > 0, probed["wake_lateness"]

        figures = results["figures"]
        assert len(figures) >= 15
        for figure in figures:
            assert set(figure) >= {"name", "value", "unit", "baseline", "baseline_value", "ratio", "better"}, figure
            assert _is_number(figure["value"]), figure
            if figure["baseline"] != "none (absolute)":
                assert _is_number(figure["baseline_value"]) and _is_number(figure["ratio"]), figure
        for entry in results["client_cpu"]:
            assert _is_number(entry["cpu_share"]), entry

        assert len(results["plots"]) == 2, results["plots"]
        for png in results["plots"]:
            with open(png, "rb") as f:
                assert f.read(8) == PNG_MAGIC, png
        assert "ratio" in output and "JSON:" in output
        with open(readme, "rb") as f:
            assert f.read() == readme_before, "quick mode rewrote the README"
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
