#!/usr/bin/env python3
"""Writes the seed corpus of one fuzz harness into a directory, from the test fixtures.

    fuzz/make_seeds.py NAME OUTDIR

The seeds are the project's own test inputs (tests/fixtures), shaped as the harness reads
them, plus the small hand-written inputs committed under fuzz/seeds/NAME. PNG and IDX seeds
are written here (standard library only: zlib, struct, zipfile), since the tests make those
files in code. Deterministic: the same files on every run.
"""
import gzip
import pathlib
import random
import shutil
import struct
import sys
import zipfile
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"


def png(width, height, color_type, bit_depth, rows, palette=None, interlace=0):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace))
    if palette:
        out += chunk(b"PLTE", palette)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def png_seeds():
    w, h = 5, 3
    yield "gray8.png", png(w, h, 0, 8, [bytes((x * 40 + y) % 256 for x in range(w)) for y in range(h)])
    yield "gray16.png", png(w, h, 0, 16, [b"".join(struct.pack(">H", x * 9000 + y) for x in range(w)) for y in range(h)])
    yield "gray1.png", png(8, 2, 0, 1, [b"\xa5", b"\x5a"])
    yield "ga8.png", png(w, h, 4, 8, [bytes(v for x in range(w) for v in (x * 50, 255 - y)) for y in range(h)])
    yield "rgb8.png", png(w, h, 2, 8, [bytes(v for x in range(w) for v in (x * 50, y * 80, 7)) for y in range(h)])
    yield "rgba16.png", png(2, 2, 6, 16, [b"\x01\x02" * 8, b"\xff\xfe" * 8])
    yield "palette.png", png(4, 2, 3, 8, [b"\x00\x01\x02\x01", b"\x02\x02\x00\x01"], palette=b"\x00\x00\x00\xff\x00\x00\x00\xff\x00")
    yield "interlaced.png", png(9, 9, 0, 8, [bytes(range(9)) for _ in range(9)], interlace=1)


def idx(dims, data):
    return b"\x00\x00\x08" + bytes([len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def main(name, out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def put(fname, data):
        (out / fname).write_bytes(data)

    for f in sorted((ROOT / "fuzz" / "seeds" / name).glob("*")):
        shutil.copy(f, out / f.name)
    kerases = sorted((FIX / "keras").glob("*.keras"))
    if name == "npy":
        for f in sorted(FIX.glob("*.npy")) + sorted((FIX / "arrays").glob("*.npy")) + sorted((FIX / "signal").glob("*.npy"))[:40]:
            shutil.copy(f, out / f.name)
    elif name == "png":
        for fname, data in png_seeds():
            put(fname, data)
    elif name == "idx":
        labels = idx([6], [0, 1, 2, 9, 3, 4])
        images = idx([2, 3, 4], range(24))
        cube = idx([2, 2, 2, 2], range(16))
        for n, d in [("labels", labels), ("images", images), ("rank4", cube)]:
            put(f"{n}.raw", b"\x00" + d)                                 # raw
            put(f"{n}.gz-by-harness", b"\x01" + d)                       # the harness gzips it
            put(f"{n}.gz", b"\x00" + gzip.compress(d, mtime=0))          # a gzip file as given
    elif name == "keras_archive":
        for f in kerases:
            shutil.copy(f, out / f.name)
    elif name == "h5":
        for f in sorted((FIX / "keras").glob("*.h5")):
            put(f.name, b"\x00" + f.read_bytes())
        for f in kerases:
            with zipfile.ZipFile(f) as z:
                if "model.weights.h5" in z.namelist():
                    put(f.stem + ".weights.h5", b"\x01" + z.read("model.weights.h5"))
    elif name == "keras_config":
        for f in kerases:
            try:
                with zipfile.ZipFile(f) as z:
                    put(f.stem + ".json", z.read("config.json"))
            except (zipfile.BadZipFile, KeyError):
                pass
    elif name == "filter_spec":
        for i, line in enumerate((FIX / "filters.txt").read_text().splitlines()):
            if line.strip():
                put(f"fixture{i}.txt", line.split()[0].encode())
    elif name == "wav":
        for f in sorted((FIX / "wav").glob("*.wav")):
            shutil.copy(f, out / f.name)
    elif name == "csv":
        put("header.csv", b"left, right\n0.5,-1\n1e-3,2.25\n")
        put("plain.csv", b"1\n2\n3.5\n-4e7\n")
        put("blank_lines.csv", b"a,b,c\n\n1,2,3\n\n4,5,6\n")
        put("ragged.csv", b"1,2\n3\n")
    elif name == "h5_structured":
        rng = random.Random(14)
        for i in range(16):
            put(f"random{i}", bytes(rng.randrange(256) for _ in range(rng.choice([8, 64, 512]))))
    elif name not in ("cli_args", "checkpoint_state"):  # their seeds are all under fuzz/seeds/NAME
        sys.exit(f"make_seeds.py: unknown harness '{name}'")
    if not any(out.iterdir()):
        sys.exit(f"make_seeds.py: no seeds for '{name}'")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
