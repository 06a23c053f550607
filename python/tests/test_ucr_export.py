"""tools/ucr/export_ucr.py: the UCR/UEA .ts files bundled in aeon's wheel (installed, data only,
by make deps) parse into the .npy files `fourierconv compare --signals` reads."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SCRIPT = os.path.join(ROOT, "tools", "ucr", "export_ucr.py")


def export(name, out, *extra):
    return subprocess.run([sys.executable, SCRIPT, name, str(out), *extra], capture_output=True, text=True)


@pytest.mark.parametrize("name,train,test,length,channels,classes",
                         [("GunPoint", 50, 150, 150, 1, 2), ("ItalyPowerDemand", 67, 1029, 24, 1, 2),
                          ("BasicMotions", 40, 40, 100, 6, 4)])
def test_bundled_sets_export_with_their_published_sizes(tmp_path, name, train, test, length, channels, classes):
    r = export(name, tmp_path)
    assert r.returncode == 0, r.stderr
    x, y = np.load(tmp_path / "x_train.npy"), np.load(tmp_path / "y_train.npy")
    assert x.shape == (train, length, channels) and x.dtype == np.float32
    assert np.load(tmp_path / "x_test.npy").shape == (test, length, channels)
    assert y.shape == (train,) and set(np.unique(y)) <= set(range(classes))
    assert len((tmp_path / "classes.txt").read_text().split()) == classes


def test_parser_against_a_handwritten_file_and_its_errors(tmp_path):
    src = tmp_path / "src" / "Toy"
    src.mkdir(parents=True)
    body = "# a comment\n@problemName Toy\n@univariate false\n@classLabel true b a\n@data\n1,2,3:4,5,6:a\n7,8,9:0,1,2:b\n"
    (src / "Toy_TRAIN.ts").write_text(body)
    (src / "Toy_TEST.ts").write_text(body)
    r = export("Toy", tmp_path / "out", "--source", str(tmp_path / "src"))
    assert r.returncode == 0, r.stderr
    x = np.load(tmp_path / "out" / "x_train.npy")
    np.testing.assert_array_equal(x[0], [[1, 4], [2, 5], [3, 6]])  # (L, C): dimensions become channels
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "y_train.npy"), [1, 0])  # the header's class order
    (src / "Toy_TEST.ts").write_text(body.replace("7,8,9:0,1,2:b", "7,8:0,1:b"))
    r = export("Toy", tmp_path / "out2", "--source", str(tmp_path / "src"))
    assert r.returncode != 0 and "unequal length" in r.stderr
    (src / "Toy_TEST.ts").write_text(body.replace(":b\n", ":zebra\n"))
    r = export("Toy", tmp_path / "out3", "--source", str(tmp_path / "src"))
    assert r.returncode != 0 and "'zebra' is not among the header's classes" in r.stderr
    (src / "Toy_TEST.ts").write_text(body.replace("1,2,3", "1,?,3"))
    r = export("Toy", tmp_path / "out4", "--source", str(tmp_path / "src"))
    assert r.returncode != 0 and "export_ucr" in r.stderr


def test_an_unknown_set_lists_the_available_ones(tmp_path):
    r = export("NoSuchSet", tmp_path)
    assert r.returncode != 0 and "no set named 'NoSuchSet'" in r.stderr and "GunPoint" in r.stderr
