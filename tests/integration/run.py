#!/usr/bin/python3
"""Integration test runner: discovers tests/integration/test_*.py and their test_* functions and
runs each in its own process group with a time limit, so a hung test (or a broker it started)
is killed by process group and never outlives its slot.

Usage: /usr/bin/python3 tests/integration/run.py [-k SUBSTRING]... [--list] [FILE...]
Prints PASS/FAIL/SKIP lines and ends with "integration: N passed, N failed, N skipped".
A test function may raise harness.Skip("reason") and may carry @harness.timeout(seconds).
"""

import argparse
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TIMEOUT_S = 120
SUITE_BUDGET_S = float(os.environ.get("SLUICE_IT_BUDGET_S", "900"))
OUTPUT_TAIL_LINES = 150
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def discover(files, keywords):
    sys.path.insert(0, HERE)
    tests = []
    errors = []
    names = sorted(f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    if files:
        wanted = {os.path.basename(f) if f.endswith(".py") else os.path.basename(f) + ".py"
                  for f in files}
        names = [n for n in names if n in wanted]
    for fname in names:
        modname = fname[:-3]
        try:
            module = importlib.import_module(modname)
        except Exception as e:  # noqa: BLE001 - a broken module is a failure, not a crash
            errors.append((fname, "import failed: %r" % (e,)))
            continue
        for name, fn in vars(module).items():
            if not name.startswith("test_") or not callable(fn):
                continue
            if getattr(fn, "__module__", None) != modname:
                continue
            test_id = "%s::%s" % (fname, name)
            if keywords and not any(k in test_id for k in keywords):
                continue
            tests.append((fname, name, getattr(fn, "timeout_seconds", DEFAULT_TIMEOUT_S)))
    return tests, errors


def child_main(fname, func, result_path):
    """Runs one test in this process and writes {"status", "reason"} to result_path."""
    sys.path.insert(0, HERE)
    import harness  # noqa: F401 - installs the cleanup hooks
    status, reason = "fail", ""
    try:
        module = importlib.import_module(fname[:-3])
        getattr(module, func)()
        status = "pass"
    except harness.Skip as e:
        status, reason = "skip", str(e)
    except AssertionError as e:
        import traceback
        traceback.print_exc()
        reason = "assertion: %s" % (str(e).splitlines()[0] if str(e) else "AssertionError")
    except BaseException as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        reason = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    sys.stdout.flush()
    sys.stderr.flush()
    with open(result_path, "w") as f:
        json.dump({"status": status, "reason": reason[:500]}, f)
    harness._cleanup_all()
    return 0


def kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_one(fname, func, limit_s, keep_tmp):
    tmp = tempfile.mkdtemp(prefix="sluice-it-%s-" % func)
    log_path = os.path.join(tmp, "output.log")
    result_path = os.path.join(tmp, "result.json")
    env = dict(os.environ)
    env["SLUICE_TEST_TMP"] = os.path.join(tmp, "work")
    env["PYTHONUNBUFFERED"] = "1"
    start = time.monotonic()
    timed_out = False
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([PYTHON, os.path.abspath(__file__), "--child", fname, func,
                                 result_path], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=HERE,
                                start_new_session=True)
        try:
            proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        except KeyboardInterrupt:
            kill_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            raise
        # Anything the test left behind in its group (a broker, kcat) goes now.
        kill_group(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    elapsed = time.monotonic() - start
    result = {"status": "fail", "reason": "no result (exit code %s)" % proc.returncode}
    if timed_out:
        result = {"status": "fail", "reason": "timed out after %ds" % limit_s}
    elif os.path.exists(result_path):
        with open(result_path) as f:
            result = json.load(f)
    with open(log_path, "rb") as f:
        output = f.read().decode("utf-8", "replace")
    if not keep_tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return result, elapsed, output


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", action="append", default=[], help="run tests whose id contains this")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("-v", action="store_true", help="print output of passing tests too")
    parser.add_argument("--child", nargs=3, metavar=("FILE", "FUNC", "RESULT"))
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    if args.child:
        return child_main(*args.child)

    tests, errors = discover(args.files, args.k)
    if args.list:
        for fname, func, limit in tests:
            print("%s::%s (limit %ds)" % (fname, func, limit))
        return 0
    keep_tmp = bool(os.environ.get("SLUICE_KEEP_TMP"))
    counts = {"pass": 0, "fail": 0, "skip": 0}
    failures = []
    suite_start = time.monotonic()
    for fname, reason in errors:
        counts["fail"] += 1
        failures.append(fname)
        print("FAIL %s: %s" % (fname, reason), flush=True)
    for fname, func, limit in tests:
        test_id = "%s::%s" % (fname, func)
        left = SUITE_BUDGET_S - (time.monotonic() - suite_start)
        if left < 5:
            counts["fail"] += 1
            failures.append(test_id)
            print("FAIL %s: not run, suite time budget of %ds spent" % (test_id, SUITE_BUDGET_S),
                  flush=True)
            continue
        result, elapsed, output = run_one(fname, func, min(limit, left), keep_tmp)
        status = result["status"]
        counts[status] += 1
        label = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[status]
        line = "%s %s (%.1fs)" % (label, test_id, elapsed)
        if result.get("reason"):
            line += ": " + result["reason"]
        print(line, flush=True)
        if status == "fail" or args.v:
            failures.append(test_id) if status == "fail" else None
            lines = output.splitlines()
            for text in lines[-OUTPUT_TAIL_LINES:]:
                print("    " + text)
            sys.stdout.flush()
    print("integration failures: %s" % (", ".join(failures) if failures else "none"))
    print("integration: %d passed, %d failed, %d skipped" % (counts["pass"], counts["fail"],
                                                             counts["skip"]), flush=True)
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
