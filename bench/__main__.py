"""`python -m bench` (what `make bench` runs): every benchmark, each with its baseline measured in the same run.

`python -m bench load normalize` runs a subset; `--quick` uses smaller sizes (a smoke run, not the figures).
"""

from __future__ import annotations

import argparse
import importlib
import time

from bench.common import machine

BENCHES = {
    "load": (
        "bench.bench_load",
        ["--sizes", "100000,1000000"],
        ["--sizes", "20000", "--repeats", "1", "--peers-max", "20000"],
    ),
    "import": ("bench.bench_import", [], ["--posts", "5000", "--repeats", "1"]),
    "normalize": ("bench.bench_normalize", [], ["--records", "20000", "--repeats", "1"]),
    "backfill": ("bench.bench_backfill", [], ["--posts", "100000"]),
    "grouping": ("bench.bench_grouping", [], ["--quick"]),
    "grouping_real": ("bench.bench_grouping", ["--stream", "real"], ["--stream", "real", "--runs", "1"]),
    "hourly": ("bench.bench_hourly", [], ["--repeats", "1"]),
    "console": ("bench.bench_console", [], ["--quick"]),
    "year": ("bench.bench_year", [], ["--quick"]),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(BENCHES)}")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    for name in args.names or list(BENCHES):
        module, full, quick = BENCHES[name]
        print(f"\n=== {name} ===", flush=True)
        t = time.perf_counter()
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            print(f"  skipped: {exc}")
            continue
        mod.main(quick if args.quick else full)
        print(f"  ({time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    main()
