#!/usr/bin/env python3
"""Two builds of `fourierconv bench` side by side, alternating rounds: the portable build
(runtime dispatch) against a -march=native one (issue 10: keep >= 95% of native speed).

Run:  cmake -S . -B build-native -DFOURIERCONV_NATIVE=ON -DFOURIERCONV_TESTS=OFF
      cmake --build build-native --target fourierconv_cli
      python3 bench/compare_builds.py build/fourierconv build-native/fourierconv --filter nn_ [--rounds 5]
Prints, per case, the median times and the median (min-max) of native time / portable time
per round (>= 0.95 meets the goal: the portable build keeps 95% of native speed).
"""
import argparse
import json
import statistics
import subprocess


def run(binary, flt, repeats):
    out = subprocess.run([binary, "bench", "--json", "--filter", flt, "--repeats", str(repeats)],
                         capture_output=True, text=True, check=True).stdout
    return {r["name"]: r["median_us"] for r in json.loads(out)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("portable")
    ap.add_argument("native")
    ap.add_argument("--filter", default="nn_")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=21)
    a = ap.parse_args()
    ratios, tp, tn = {}, {}, {}
    for _ in range(a.rounds):
        p = run(a.portable, a.filter, a.repeats)
        n = run(a.native, a.filter, a.repeats)
        for k in p:
            ratios.setdefault(k, []).append(n[k] / p[k])
            tp.setdefault(k, []).append(p[k])
            tn.setdefault(k, []).append(n[k])
    print("| case | portable µs | native µs | native / portable (min–max) |")
    print("|---|---:|---:|---:|")
    allr = []
    for k, r in ratios.items():
        allr.append(statistics.median(r))
        print(f"| {k} | {statistics.median(tp[k]):.1f} | {statistics.median(tn[k]):.1f} | "
              f"{statistics.median(r):.3f} ({min(r):.2f}–{max(r):.2f}) |")
    print(f"\nmedian over cases: {statistics.median(allr):.3f}; lowest case: {min(allr):.3f}")


if __name__ == "__main__":
    main()
