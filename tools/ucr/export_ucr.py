#!/usr/bin/env python3
"""Exports a labelled time-series data set in the UCR/UEA `.ts` format (the format of the
archive at timeseriesclassification.com, as bundled in aeon's wheel) to the .npy files that
`fourierconv compare --signals DIR` reads:

    DIR/x_train.npy  (N, L, C) float32     DIR/y_train.npy  (N,) float32 class indices
    DIR/x_test.npy   (M, L, C) float32     DIR/y_test.npy   (M,) float32
    DIR/classes.txt  one label per line, index order (the @classLabel order of the header)

Usage: export_ucr.py NAME OUTDIR [--source DIR]
  NAME: GunPoint, ItalyPowerDemand, OSULeaf, ACSF1, ArrowHead, BasicMotions, ... (equal-length,
  classification sets only). --source: the folder holding NAME/NAME_TRAIN.ts; default: the data
  folder of the aeon package installed beside this Python (make deps installs its wheel,
  without its dependencies, into build/venv: only its data files are used, never its code).

The parser is ours: header lines start with '@', comments with '#' or '%'; after '@data' each line
is one case, dimensions separated by ':', values by ',', the class label last.
"""
import argparse
import importlib.util
import os
import sys

import numpy as np


def aeon_data_dir():
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("export_ucr: aeon's data files are not installed here (make deps installs them into build/venv)")
    return os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data")


def read_ts(path):
    """Returns (x (N, L, C) float32, labels list of str, header dict)."""
    header, cases = {}, []
    with open(path, encoding="utf-8", errors="strict") as f:
        in_data = False
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#") or line.startswith("%"):
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise ValueError(f"{path}:{lineno}: expected a header line (@...) before @data, got {line[:40]!r}")
                key, _, value = line[1:].partition(" ")
                key = key.lower()
                if key == "data":
                    in_data = True
                else:
                    header[key] = value.strip()
                continue
            parts = line.split(":")
            if len(parts) < 2:
                raise ValueError(f"{path}:{lineno}: expected values and a class label separated by ':'")
            dims = [[float(v) for v in p.split(",")] for p in parts[:-1]]
            cases.append((dims, parts[-1].strip()))
    if header.get("classlabel", "false").split()[0].lower() != "true":
        raise ValueError(f"{path}: not a classification set (@classLabel is not true)")
    if not cases:
        raise ValueError(f"{path}: no cases after @data")
    lengths = {len(d) for dims, _ in cases for d in dims}
    channels = {len(dims) for dims, _ in cases}
    if len(lengths) != 1 or len(channels) != 1:
        raise ValueError(f"{path}: series of unequal length or dimension count ({sorted(lengths)[:5]}...): "
                         "only equal-length sets are supported (use the *_eq variants)")
    x = np.array([dims for dims, _ in cases], dtype=np.float64).transpose(0, 2, 1)  # (N, L, C)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{path}: missing or non-finite values")
    return x.astype(np.float32), [label for _, label in cases], header


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name")
    ap.add_argument("out")
    ap.add_argument("--source", default=None)
    a = ap.parse_args()
    src = a.source or aeon_data_dir()
    if not os.path.isfile(os.path.join(src, a.name, f"{a.name}_TRAIN.ts")):
        have = sorted(d for d in os.listdir(src) if os.path.isfile(os.path.join(src, d, f"{d}_TRAIN.ts"))) if os.path.isdir(src) else []
        sys.exit(f"export_ucr: no set named {a.name!r} in {src}; available: {', '.join(have) or 'none'}")
    try:
        xtr, ltr, header = read_ts(os.path.join(src, a.name, f"{a.name}_TRAIN.ts"))
        xte, lte, _ = read_ts(os.path.join(src, a.name, f"{a.name}_TEST.ts"))
    except (OSError, ValueError) as e:
        sys.exit(f"export_ucr: {e}")
    classes = header["classlabel"].split()[1:] or sorted(set(ltr))
    index = {c: i for i, c in enumerate(classes)}
    for lab in ltr + lte:
        if lab not in index:
            sys.exit(f"export_ucr: label {lab!r} is not among the header's classes {classes}")
    if xtr.shape[1:] != xte.shape[1:]:
        sys.exit(f"export_ucr: train series are {xtr.shape[1:]} but test series {xte.shape[1:]}")
    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, "x_train.npy"), xtr)
    np.save(os.path.join(a.out, "y_train.npy"), np.array([index[v] for v in ltr], dtype=np.float32))
    np.save(os.path.join(a.out, "x_test.npy"), xte)
    np.save(os.path.join(a.out, "y_test.npy"), np.array([index[v] for v in lte], dtype=np.float32))
    with open(os.path.join(a.out, "classes.txt"), "w") as f:
        f.write("\n".join(classes) + "\n")
    print(f"export_ucr: {a.name}: train {xtr.shape}, test {xte.shape}, {len(classes)} classes -> {a.out}")


if __name__ == "__main__":
    main()
