"""noma_format_f64 must print exactly Python's repr(float).

NOMA's `print` promises Python-style shortest round-trip output in both JIT
and executable modes, and expected outputs of examples are written that way,
so any deviation (a missing ".0", "1e16" vs "1e+16", one digit too many at a
power of two) would be a user-visible bug. These tests call the C function
through ctypes on the compiled runtime library.
"""

from __future__ import annotations

import ctypes
import math
import random
import struct

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from noma.runtime.jit import NomaRuntime, load_runtime


@pytest.fixture(scope="module")
def rt() -> NomaRuntime:
    """The runtime library, built (or taken from the cache) once."""
    return load_runtime()


def _bits_to_float(bits: int) -> float:
    return struct.unpack("<d", bits.to_bytes(8, "little"))[0]


EDGE_CASES: list[float] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    25.0,
    100.0,
    0.1,
    0.2,
    0.3,
    0.1 + 0.2,
    1 / 3,
    2 / 3,
    0.9990889488055994,
    1e15,
    1e16,
    -1e16,
    1e17,
    9999999999999998.0,
    9999999999999999.0,
    999999999999999.9,
    123456789012345678.0,
    -123456789012345678.0,
    1234567890123456.7,
    0.0001,
    0.00001,
    0.000123,
    0.0000123,
    1.5e-07,
    5e-324,
    -5e-324,
    1e-323,
    2.2250738585072014e-308,  # smallest normal
    2.225073858507201e-308,  # largest subnormal
    4.9406564584124654e-324,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    2.0**53,
    2.0**53 + 2,
    2.0**63,
    2.0**64,
    2.0**-1022,
    2.0**-1074,
    math.pi,
    math.e,
    1e22,
    1e23,
    5e-5,
    123.456,
    1e100,
    1e-100,
    float("inf"),
    float("-inf"),
    float("nan"),
]


@pytest.mark.parametrize("x", EDGE_CASES, ids=repr)
def test_edge_cases_match_repr(rt: NomaRuntime, x: float) -> None:
    assert rt.format_f64(x) == repr(x)


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (25.0, "25.0"),
        (-0.0, "-0.0"),
        (100.0, "100.0"),
        (1e16, "1e+16"),
        (1.5e-7, "1.5e-07"),
        (-1.2345678901234568e17, "-1.2345678901234568e+17"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e15, "1000000000000000.0"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (float("nan"), "nan"),
        (-float("nan"), "nan"),
    ],
)
def test_documented_forms(rt: NomaRuntime, x: float, text: str) -> None:
    """The forms the language reference spells out, written literally so a
    change in Python's repr could not silently change our expectations."""
    assert rt.format_f64(x) == text


def test_every_power_of_two(rt: NomaRuntime) -> None:
    """Powers of two have an asymmetric rounding interval, the classic place
    where a naive shortest-digits search prints one digit too many."""
    for k in range(-1074, 1024):
        for x in (2.0**k, -(2.0**k)):
            assert rt.format_f64(x) == repr(x), k


def test_every_power_of_ten(rt: NomaRuntime) -> None:
    """Powers of ten cross every fixed/scientific switch point."""
    for k in range(-324, 309):
        x = float(f"1e{k}")
        assert rt.format_f64(x) == repr(x), k
        y = float(f"9.999999999999999e{k}") if k < 308 else 1e308
        assert rt.format_f64(y) == repr(y), k


def test_random_bit_patterns(rt: NomaRuntime) -> None:
    """Uniform over bit patterns: every exponent, subnormals, NaN payloads."""
    rng = random.Random(20240611)
    for _ in range(50_000):
        x = _bits_to_float(rng.getrandbits(64))
        assert rt.format_f64(x) == repr(x), x.hex()


def test_small_decimals(rt: NomaRuntime) -> None:
    """Values near short decimals (the typical printed loss / weight)."""
    for i in range(1, 20_000):
        for x in (i / 1000, i * 1e-7, i / 7, float(i)):
            assert rt.format_f64(x) == repr(x), x


@pytest.mark.slow
@settings(max_examples=3000, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
@example(5e-324)
@example(1.7976931348623157e308)
@example(9999999999999998.0)
def test_hypothesis_floats(rt: NomaRuntime, x: float) -> None:
    assert rt.format_f64(x) == repr(x)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_hypothesis_bit_patterns(rt: NomaRuntime, bits: int) -> None:
    x = _bits_to_float(bits)
    assert rt.format_f64(x) == repr(x)


def test_truncation_and_return_value(rt: NomaRuntime) -> None:
    """Like snprintf: returns the full length, writes at most size-1 chars
    plus a NUL, and accepts a NULL buffer of size 0 to measure."""
    f = rt.lib.noma_format_f64
    text = repr(-1.2345678901234568e17)
    assert f(-1.2345678901234568e17, None, 0) == len(text)
    buf = ctypes.create_string_buffer(8)
    ctypes.memset(buf, 0xFF, 8)
    n = f(-1.2345678901234568e17, buf, 8)
    assert n == len(text)
    assert buf.raw == text[:7].encode() + b"\0"
    buf1 = ctypes.create_string_buffer(4)
    ctypes.memset(buf1, 0xFF, 4)
    assert f(0.5, buf1, 1) == 3
    assert buf1.raw[0:1] == b"\0"
    assert buf1.raw[1:] == b"\xff" * 3  # nothing past `size` is touched


# -- the formatter of noma_shortest.c (Ryu's method, ours) ------------------


@pytest.mark.slow
def test_a_million_random_doubles(rt: NomaRuntime) -> None:
    """10^6 uniform bit patterns and 10^6 short decimals of every exponent,
    each exactly Python's repr."""
    rng = random.Random(20261205)
    for _ in range(1_000_000):
        x = _bits_to_float(rng.getrandbits(64))
        assert rt.format_f64(x) == repr(x), x.hex()
    for _ in range(1_000_000):
        x = float(f"{rng.randint(1, 10 ** rng.randint(1, 17))}e{rng.randint(-340, 310)}")
        assert rt.format_f64(x) == repr(x), x.hex()


def test_halfway_cases(rt: NomaRuntime) -> None:
    """Decimals exactly halfway between two doubles read back to the even
    one, and values whose shortest candidates tie print the even digit."""
    for k in range(53, 64):
        base = 2.0**k
        for step in range(1, 64):
            x = base + step * 2.0 ** (k - 52)
            assert rt.format_f64(x) == repr(x), x.hex()
    for text in ("9007199254740993", "9007199254740995", "1.5e-323", "2.5e-323", "4.5", "0.125"):
        x = float(text)
        assert rt.format_f64(x) == repr(x), text
    # Subnormals: every multiple of the smallest up to 2^12 of them.
    for k in range(1, 4096):
        x = k * 5e-324
        assert rt.format_f64(x) == repr(x), k


def test_the_portable_multiplication(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without a 128-bit integer type the formatter multiplies in 64-bit
    halves; built that way it prints the same."""
    from c_programs import build_with_runtime

    program = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "noma_runtime.h"
int main(void) {
    char line[64], out[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
        uint64_t bits = strtoull(line, NULL, 16);
        double x;
        memcpy(&x, &bits, sizeof x);
        noma_format_f64(x, out, sizeof out);
        puts(out);
    }
    return 0;
}
"""
    exe = build_with_runtime(tmp_path, "portable", program, ["-O2", "-U__SIZEOF_INT128__"])
    rng = random.Random(7)
    values = [_bits_to_float(rng.getrandbits(64)) for _ in range(20_000)] + [5e-324, 2.0**-1022]
    stdin = "".join(f"{struct.unpack('<Q', struct.pack('<d', x))[0]:x}\n" for x in values)
    import subprocess

    printed = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=True)
    expected = ["nan" if math.isnan(x) else repr(x) for x in values]
    assert printed.stdout.splitlines() == expected


def test_the_tables_are_generated_from_their_script() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "gen_shortest_tables.py"
    checked = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
