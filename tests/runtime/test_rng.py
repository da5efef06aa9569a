"""The seeded random-number generator of the C runtime.

The runtime's generator is xoshiro256** seeded by splitmix64, with uniforms
(next() >> 11) * 2**-53 and normals by Box-Muller on two fresh uniforms
(the contract is spelled out in noma_runtime.h). These tests check the C code
against a pure-Python transcription of the published algorithms (itself
pinned to the published reference outputs), the statistics of the draws,
seeding and the default seed, and that JIT-compiled code, the ctypes view and
a standalone executable linked with noma_runtime.c all draw the same numbers.
"""

from __future__ import annotations

import ctypes
import math
import platform
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from c_programs import WARNINGS, build_with_runtime
from reference_rng import MASK64, NOMA_DEFAULT_SEED, RefRng, splitmix64_outputs

from noma.runtime.build import (
    build_runtime_library,
    find_c_compiler,
    runtime_header_path,
    runtime_source_path,
)
from noma.runtime.jit import JitModule, NomaRuntime, load_runtime


def test_reference_splitmix64_published_outputs() -> None:
    # splitmix64 from state 0: the published first outputs.
    assert splitmix64_outputs(0, 4) == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
        0xF88BB8A8724C81EC,
    ]


def test_reference_xoshiro256starstar_published_outputs() -> None:
    # The reference implementation's outputs from state {1, 2, 3, 4}.
    r = RefRng(state=[1, 2, 3, 4])
    assert [r.next() for _ in range(10)] == [
        11520,
        0,
        1509978240,
        1215971899390074240,
        1216172134540287360,
        607988272756665600,
        16172922978634559625,
        8476171486693032832,
        10595114339597558777,
        2904607092377533576,
    ]


# --------------------------------------------------------------------------
# The C generator through ctypes
# --------------------------------------------------------------------------

SEEDS = [0, 1, 42, 12345, -1, NOMA_DEFAULT_SEED, 2**63 - 1, -(2**63), 0x0123456789ABCDEF]


@pytest.fixture(scope="module")
def rt() -> NomaRuntime:
    return load_runtime()


def test_abi_is_exported(rt: NomaRuntime) -> None:
    for name in (
        "noma_rng_seed",
        "noma_rng_next_raw",
        "noma_rng_uniform",
        "noma_rng_uniform_range",
        "noma_rng_normal",
    ):
        assert hasattr(rt.lib, name), name


def test_default_seed_constant_in_header() -> None:
    text = runtime_header_path().read_text()
    m = re.search(r"#define\s+NOMA_DEFAULT_SEED\s+(0x[0-9A-Fa-f]+)", text)
    assert m is not None
    assert int(m.group(1), 16) == NOMA_DEFAULT_SEED == int.from_bytes(b"NOMA", "big")


@pytest.mark.parametrize("seed", SEEDS)
def test_raw_stream_matches_reference(rt: NomaRuntime, seed: int) -> None:
    rt.rng_seed(seed)
    ref = RefRng(seed)
    got = [rt.rng_next_raw() for _ in range(1000)]
    assert got == [ref.next() for _ in range(1000)]
    assert all(0 <= v <= MASK64 for v in got)


def test_seed_42_pinned(rt: NomaRuntime) -> None:
    """Seed 42's first outputs, as other xoshiro256** + splitmix64
    implementations publish them."""
    rt.rng_seed(42)
    assert [rt.rng_next_raw() for _ in range(4)] == [
        1546998764402558742,
        6990951692964543102,
        12544586762248559009,
        17057574109182124193,
    ]


def test_seed_is_taken_modulo_2_64(rt: NomaRuntime) -> None:
    rt.rng_seed(-1)
    a = [rt.rng_next_raw() for _ in range(5)]
    rt.rng_seed(MASK64)
    assert [rt.rng_next_raw() for _ in range(5)] == a
    rt.rng_seed(7 + (1 << 64))
    b = [rt.rng_next_raw() for _ in range(5)]
    rt.rng_seed(7)
    assert [rt.rng_next_raw() for _ in range(5)] == b


@pytest.mark.parametrize("seed", SEEDS)
def test_uniform_matches_reference(rt: NomaRuntime, seed: int) -> None:
    rt.rng_seed(seed)
    ref = RefRng(seed)
    got = [rt.rng_uniform() for _ in range(1000)]
    assert got == [(ref.next() >> 11) * 2.0**-53 for _ in range(1000)]
    assert all(0.0 <= u < 1.0 for u in got)


@pytest.mark.parametrize("seed", SEEDS)
def test_uniform_range_matches_reference(rt: NomaRuntime, seed: int) -> None:
    rt.rng_seed(seed)
    ref = RefRng(seed)
    for lo, hi in [(-1.0, 1.0), (2.5, 7.25), (-1e-3, 0.0), (3.0, 3.0), (5.0, -5.0)]:
        assert [rt.rng_uniform_range(lo, hi) for _ in range(100)] == [
            ref.uniform_range(lo, hi) for _ in range(100)
        ]


@pytest.mark.parametrize("seed", SEEDS)
def test_normal_matches_box_muller(rt: NomaRuntime, seed: int) -> None:
    rt.rng_seed(seed)
    ref = RefRng(seed)
    for mean, std in [(0.0, 1.0), (0.0, 0.3), (2.0, 3.0), (-1.5, 1e-3)]:
        assert [rt.rng_normal(mean, std) for _ in range(200)] == [
            ref.normal(mean, std) for _ in range(200)
        ]


def test_draws_per_call_interleaved(rt: NomaRuntime) -> None:
    """normal uses exactly two draws, uniform and uniform_range one, so an
    interleaved sequence stays in step with the reference stream."""
    rt.rng_seed(2024)
    ref = RefRng(2024)
    for i in range(300):
        k = i % 4
        if k == 0:
            assert rt.rng_normal(0.0, 0.3) == ref.normal(0.0, 0.3)
        elif k == 1:
            assert rt.rng_uniform() == ref.uniform()
        elif k == 2:
            assert rt.rng_next_raw() == ref.next()
        else:
            assert rt.rng_uniform_range(-2.0, 2.0) == ref.uniform_range(-2.0, 2.0)


def test_normal_with_zero_first_uniform() -> None:
    """u1 == 0 gives log(1) == 0, z == 0 (no log(0)); checked on the
    reference formula since the stream cannot be steered there."""
    assert math.sqrt(-2.0 * math.log(1.0 - 0.0)) * math.cos(math.tau * 0.25) == 0.0


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------

N = 200_000


def _mean_var(xs: list[float]) -> tuple[float, float]:
    m = math.fsum(xs) / len(xs)
    v = math.fsum((x - m) ** 2 for x in xs) / len(xs)
    return m, v


def test_uniform_statistics(rt: NomaRuntime) -> None:
    rt.rng_seed(1)
    xs = [rt.rng_uniform() for _ in range(N)]
    m, v = _mean_var(xs)
    assert abs(m - 0.5) < 0.005
    assert abs(v - 1.0 / 12.0) < 0.005
    assert min(xs) >= 0.0 and max(xs) < 1.0


def test_normal_statistics(rt: NomaRuntime) -> None:
    rt.rng_seed(2)
    xs = [rt.rng_normal(2.0, 3.0) for _ in range(N)]
    m, v = _mean_var(xs)
    assert abs(m - 2.0) < 0.03
    assert abs(math.sqrt(v) - 3.0) < 0.03
    # About 68.3% within one standard deviation.
    within = sum(1 for x in xs if abs(x - 2.0) < 3.0) / N
    assert abs(within - 0.6827) < 0.005


def test_uniform_range_bounds(rt: NomaRuntime) -> None:
    rt.rng_seed(3)
    for lo, hi in [(-3.0, 5.0), (0.0, 1e-9), (-0.3, 0.3), (100.0, 101.0)]:
        xs = [rt.rng_uniform_range(lo, hi) for _ in range(N // 4)]
        assert min(xs) >= lo and max(xs) <= hi
        m, _ = _mean_var(xs)
        assert abs(m - (lo + hi) / 2) < 0.01 * (hi - lo)


# --------------------------------------------------------------------------
# Seeding and the default seed
# --------------------------------------------------------------------------


def test_reseeding_reproduces(rt: NomaRuntime) -> None:
    def draws() -> list[float]:
        return [rt.rng_uniform() for _ in range(5)] + [rt.rng_normal(0.0, 1.0) for _ in range(5)]

    rt.rng_seed(99)
    first = draws()
    rt.rng_seed(99)
    assert draws() == first
    rt.rng_seed(100)
    assert draws() != first


_FRESH = textwrap.dedent(
    """
    from noma.runtime.jit import load_runtime
    rt = load_runtime()
    print(rt.rng_{first}())
    print([rt.rng_next_raw() for _ in range(4)])
    print(rt.rng_normal(0.0, 0.3))
    """
)


@pytest.mark.parametrize("first", ["uniform", "next_raw"])
def test_default_seed_when_never_seeded(rt: NomaRuntime, first: str) -> None:
    """A fresh process that never seeds draws the NOMA_DEFAULT_SEED stream,
    whichever function draws first."""
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH.format(first=first)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rt.rng_seed(NOMA_DEFAULT_SEED)
    head = rt.rng_uniform() if first == "uniform" else rt.rng_next_raw()
    expected = f"{head!r}\n{[rt.rng_next_raw() for _ in range(4)]!r}\n{rt.rng_normal(0.0, 0.3)!r}\n"
    assert proc.stdout == expected
    ref = RefRng(NOMA_DEFAULT_SEED)
    ref_head = ref.uniform() if first == "uniform" else ref.next()
    assert proc.stdout.splitlines()[0] == repr(ref_head)


# --------------------------------------------------------------------------
# JIT-compiled code and standalone executables share the one generator
# --------------------------------------------------------------------------

_RNG_IR = r"""
declare void @noma_rng_seed(i64)
declare double @noma_rng_uniform()
declare double @noma_rng_uniform_range(double, double)
declare double @noma_rng_normal(double, double)
declare i64 @noma_rng_next_raw()

; args[0]: ptr to i64 raw, args[1..3]: ptr to double results
define void @_noma_packed_draw(ptr %args) {
entry:
  %r = call i64 @noma_rng_next_raw()
  %u = call double @noma_rng_uniform()
  %w = call double @noma_rng_uniform_range(double -1.0, double 1.0)
  %n = call double @noma_rng_normal(double 0.0, double 0.3)
  %p0 = load ptr, ptr %args
  store i64 %r, ptr %p0
  %q1 = getelementptr inbounds ptr, ptr %args, i64 1
  %p1 = load ptr, ptr %q1
  store double %u, ptr %p1
  %q2 = getelementptr inbounds ptr, ptr %args, i64 2
  %p2 = load ptr, ptr %q2
  store double %w, ptr %p2
  %q3 = getelementptr inbounds ptr, ptr %args, i64 3
  %p3 = load ptr, ptr %q3
  store double %n, ptr %p3
  ret void
}

define void @_noma_packed_seed(ptr %args) {
entry:
  %p0 = load ptr, ptr %args
  %s = load i64, ptr %p0
  call void @noma_rng_seed(i64 %s)
  ret void
}
"""


def test_jit_code_draws_from_the_same_generator(rt: NomaRuntime) -> None:
    """Compiled code resolves noma_rng_* by name and shares the state with
    the ctypes view: seeding from Python steers the JIT's draws and vice
    versa."""
    with JitModule(_RNG_IR) as m:
        raw = ctypes.c_int64()
        u, w, n = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
        ptrs = [ctypes.pointer(x) for x in (raw, u, w, n)]

        rt.rng_seed(5)
        ref = RefRng(5)
        for _ in range(3):
            assert m.invoke_packed("_noma_packed_draw", ptrs) == 0
            assert raw.value & MASK64 == ref.next()
            assert u.value == ref.uniform()
            assert w.value == ref.uniform_range(-1.0, 1.0)
            assert n.value == ref.normal(0.0, 0.3)
        # Python draws next, in the same stream.
        assert rt.rng_uniform() == ref.uniform()

        seed = ctypes.c_int64(-77)
        assert m.invoke_packed("_noma_packed_seed", [ctypes.pointer(seed)]) == 0
        assert rt.rng_next_raw() == RefRng(-77).next()


_C_HARNESS = textwrap.dedent(
    r"""
    #include <stdio.h>
    #include <stdlib.h>
    #include "noma_runtime.h"

    int main(int argc, char **argv) {
        if (argc > 1)
            noma_rng_seed((int64_t)strtoll(argv[1], NULL, 10));
        for (int i = 0; i < 4; ++i)
            printf("%llu\n", (unsigned long long)(uint64_t)noma_rng_next_raw());
        for (int i = 0; i < 4; ++i)
            noma_print_f64(noma_rng_uniform());
        for (int i = 0; i < 4; ++i)
            noma_print_f64(noma_rng_uniform_range(-2.0, 3.0));
        for (int i = 0; i < 8; ++i)
            noma_print_f64(noma_rng_normal(2.0, 3.0));
        noma_rt_flush();
        return 0;
    }
    """
)


def _expected_harness_output(seed: int) -> str:
    ref = RefRng(seed)
    lines = [str(ref.next()) for _ in range(4)]
    lines += [repr(ref.uniform()) for _ in range(4)]
    lines += [repr(ref.uniform_range(-2.0, 3.0)) for _ in range(4)]
    lines += [repr(ref.normal(2.0, 3.0)) for _ in range(8)]
    return "".join(line + "\n" for line in lines)


def _has_fma() -> bool:
    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64"):
        return True  # FMA is part of the base ISA
    if machine in ("x86_64", "amd64"):
        try:
            flags = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
        return re.search(r"^flags\s*:.*\bfma\b", flags, re.MULTILINE) is not None
    return False


def _build_harness(directory: Path, extra_flags: list[str], sanitize: bool = False) -> Path:
    flags = [*extra_flags, "-O2", *WARNINGS, "-Werror"]
    return build_with_runtime(
        directory, "rng_harness", _C_HARNESS, flags, quiet=True, sanitize=sanitize
    )


@pytest.mark.parametrize(
    ("flags", "sanitize"),
    [
        pytest.param(["-std=c11"], False, id="c11"),
        pytest.param(["-std=c11"], True, id="c11-asan-ubsan", marks=pytest.mark.slow),
        # GNU mode contracts a + b * c into an FMA where the target has one;
        # the runtime turns contraction off for the RNG so results agree.
        pytest.param(
            ["-std=gnu11", "-ffp-contract=fast"]
            + (
                ["-mfma"]
                if _has_fma() and platform.machine().lower() in ("x86_64", "amd64")
                else []
            ),
            False,
            id="gnu11-fp-contract-fast",
        ),
    ],
)
def test_executable_draws_the_same_numbers(
    rt: NomaRuntime, tmp_path: Path, flags: list[str], sanitize: bool
) -> None:
    """An executable linked with noma_runtime.c draws the same stream as the
    JIT's library and the reference, seeded or with the default seed."""
    exe = _build_harness(tmp_path, flags, sanitize)
    for seed in (None, 0, 42, -9):
        args = [str(exe)] if seed is None else [str(exe), str(seed)]
        proc = subprocess.run(args, check=False, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        effective = NOMA_DEFAULT_SEED if seed is None else seed
        assert proc.stdout == _expected_harness_output(effective)


def test_library_build_links_libm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared library records its libm dependency, so log/cos/sqrt
    resolve wherever it is loaded (not only in a process that already has
    libm, as Python does)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("ELF dynamic section check")
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("no readelf")
    monkeypatch.setenv("NOMA_CACHE_DIR", str(tmp_path))
    lib = build_runtime_library()
    proc = subprocess.run([readelf, "-d", str(lib)], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"NEEDED.*\[libm\.so", proc.stdout), proc.stdout


def test_no_warnings_strict_gnu_mode(tmp_path: Path) -> None:
    """The RNG section's contraction pragmas compile warning-free under the
    strict flags in GNU mode too (GCC ignores, with a warning, the standard
    STDC FP_CONTRACT pragma, so the runtime uses GCC's own there)."""
    proc = subprocess.run(
        [
            *find_c_compiler(),
            "-std=gnu11",
            "-O2",
            "-fPIC",
            "-shared",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Wshadow",
            "-Wconversion",
            "-Werror",
            "-o",
            str(tmp_path / "lib.so"),
            str(runtime_source_path()),
            "-lm",
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
