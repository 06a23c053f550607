"""The package as installed: its version, its licence metadata, and the instruction set its
hot loops run at (scripts/test-baseline runs these tests on an emulated CPU without AVX)."""
import os
from importlib import metadata

import fourierconv as fc


def test_version_and_licence_metadata():
    assert fc.__version__ == metadata.version("fourierconv")
    meta = metadata.metadata("fourierconv")
    assert "GPL-3.0-or-later" in (meta.get("License-Expression") or meta.get("License") or "")


def test_cpu_dispatch_level():
    level = fc.cpu_dispatch_level()
    assert level in ("x86-64-v4", "x86-64-v3", "baseline", "native")
    want = os.environ.get("FOURIERCONV_EXPECT_CPU_LEVEL")
    if want:
        assert level == want
