#!/usr/bin/python3
"""Crash soak: the crash rounds of test_crash.py (SIGKILL the broker at a seeded random moment
under an idempotent acks=all producer, restart it on the same data, check every acknowledged
record), 100 rounds by default. Not collected by run.py (its name does not start with test_).

    SLUICE_BIN=$PWD/build/src/server/sluice /usr/bin/python3 tests/integration/soak_crash.py

Options: --rounds N (default 100), --seed N (default: SLUICE_CRASH_SEED, else random; printed, so
a failure can be replayed), --flush-mode durable|async (default durable), --rate N (records/s the
producer sends at most). Exits 0 and prints the figures (rounds survived, SIGKILLs, records
acknowledged and checked) when every round passes; exits 1 on the first problem, with the seed
and the broker's and the producer's last log lines. SLUICE_KEEP_TMP=1 keeps the data directory.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_crash  # noqa: E402 - after the path is set


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--flush-mode", choices=["durable", "async"], default="durable")
    parser.add_argument("--rate", type=float, default=test_crash.PRODUCE_RATE_DEFAULT)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    seed = args.seed if args.seed is not None else test_crash.crash_seed()
    try:
        stats = test_crash.run_crash_rounds(args.rounds, seed, args.flush_mode, args.rate,
                                            say=lambda text: print(text, flush=True))
    except (AssertionError, test_crash.harness.BrokerError) as e:
        print("SOAK FAILED (seed %d, replay with --seed %d): %s" % (seed, seed, e), flush=True)
        return 1
    print("SOAK PASSED: %d rounds survived, %d SIGKILLs, %d records acknowledged, %d "
          "acknowledged-record checks, %d records read back, seed %d, %.0fs" % (
              stats["rounds"], stats["kills"], stats["acked"], stats["record_checks"],
              stats["records_read"], seed, stats["seconds"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
