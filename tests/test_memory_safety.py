"""Memory safety of run-time sizes and indices (issue 9), in the JIT (what
`noma run` runs) and in a `noma build-exe` executable.

One program takes a case and a size from a CSV file (`--arg S=s.csv`: the
case, then a numerator and a denominator, so that 1/0 and 0/0 give inf and
NaN) and allocates with `alloc`, `realloc` or `rand_tensor`, or indexes a
vector. It is compiled once for the JIT (run in this process, as `noma run`
does: a runtime error returns from the run) and built once into an
executable; every case runs in both and must give the same located error
(exit 1 for the executable, never a signal) or result. The issue's own
programs also run through the `noma run` command.

Sizes are checked where f64 dimensions become integers (`noma_check_dims` in
the C runtime: at least 1, finite, at most 2^48 bytes and the machine's
memory), so the messages below follow from the requested shapes: a
[n, 10] buffer of f64 needs n * 10 * 8 bytes. A malloc that fails anyway
(here under an address-space limit) is reported at the allocation. Constant
sizes are compile errors.
"""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path

import pytest

from c_programs import WARNINGS, build_with_runtime
from noma.compiler import Program, ProgramError
from noma.frontend.irgen.files import arg_ranks
from programs import run_cli

pytestmark = pytest.mark.slow  # see README.md, "Testing"

SIZES = """fn main(S) {
    let kind = S[0][0];
    let n = S[0][1] / S[0][2];
    learn W = tensor [[1.0], [2.0]];
    if kind == 0 {
        alloc B = [n, 10];
        print(B[1][0]);
    }
    if kind == 1 {
        realloc W = [n, 1] init zeros;
        print(W[1][0]);
    }
    if kind == 2 {
        print(rand_tensor(n, 10)[1][0]);
    }
    if kind == 3 {
        let v = tensor [5.0, 6.0];
        print(v[n]);
    }
    if kind == 4 {
        alloc C = [n];
        print(sum(C));
    }
    if kind == 5 {
        alloc D = [n];
        let e = D + 1.0;
        print(e[0] + D[0]);
    }
}
"""
ALLOC, REALLOC, RAND = "p.noma:6:9: ", "p.noma:10:9: ", "p.noma:14:15: "
INDEX, ALLOC_1D = "p.noma:18:16: ", "p.noma:21:9: "
LIMIT = "more than the limit of 281474976710656 bytes (2^48)"

ERRORS = {
    # 1e11 x 10 doubles: 8e12 bytes, more than any test machine's memory.
    "alloc 1e11": (
        "0, 100000000000, 1",
        ALLOC + "runtime error: cannot allocate a [100000000000, 10] buffer: "
        "it needs 8000000000000 bytes, more than the memory of this machine (",
    ),
    "rand_tensor 1e11": (
        "2, 100000000000, 1",
        RAND + "runtime error: cannot allocate a [100000000000, 10] buffer: "
        "it needs 8000000000000 bytes, more than the memory of this machine (",
    ),
    # 2^62 rows: 2^65 bytes, which wraps around in 64 bits.
    "realloc 2^62": (
        "1, 4611686018427387904, 1",
        REALLOC + "runtime error: cannot allocate a [4611686018427387904, 1] buffer: "
        f"it needs 36893488147419103232 bytes, {LIMIT}",
    ),
    "alloc 2^62": (
        "0, 4611686018427387904, 1",
        ALLOC + "runtime error: cannot allocate a [4611686018427387904, 10] buffer: "
        f"it needs 368934881474191032320 bytes, {LIMIT}",
    ),
    "alloc 1e30": (
        "0, 1e30, 1",
        ALLOC + "runtime error: cannot allocate a [1e+30, 10] buffer: "
        f"it needs 8e+31 bytes, {LIMIT}",
    ),
    "alloc 1/0": (
        "0, 1, 0",
        ALLOC + "runtime error: cannot allocate a [inf, 10] buffer: a dimension must be finite",
    ),
    "realloc 1/0": (
        "1, 1, 0",
        REALLOC + "runtime error: cannot allocate a [inf, 1] buffer: a dimension must be finite",
    ),
    "rand_tensor 0/0": ("2, 0, 0", RAND + "runtime error: a dimension must be at least 1, got nan"),
    "alloc 0/0": ("0, 0, 0", ALLOC + "runtime error: a dimension must be at least 1, got nan"),
    # NaN became index 0 (a saturating conversion): it must fail the bounds check.
    "index nan": (
        "3, 0, 0",
        INDEX + "runtime error: index nan is out of bounds for a dimension of size 2",
    ),
    "index inf": (
        "3, 1, 0",
        INDEX + "runtime error: index inf is out of bounds for a dimension of size 2",
    ),
    "index -1e300": (
        "3, -1e300, 1",
        INDEX + "runtime error: index -1e+300 is out of bounds for a dimension of size 2",
    ),
}
RESULTS = {
    "alloc 1e6": ("4, 1000000, 1", "0.0\n"),  # 8 MB of zeros
    "realloc 3": ("1, 3, 1", "2.0\n"),  # the old rows keep their values
    "index -1": ("3, -1, 1", "6.0\n"),  # counts from the end
    "temporary": ("5, 5, 1", "1.0\n"),
}
CASES: dict[str, tuple[str, str | None, str | None]] = {
    **{name: (size, error, None) for name, (size, error) in ERRORS.items()},
    **{name: (size, None, output) for name, (size, output) in RESULTS.items()},
}


@pytest.fixture(scope="module")
def sizes_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The program built once, as an executable in its own directory."""
    directory = tmp_path_factory.mktemp("sizes")
    (directory / "p.noma").write_text(SIZES)
    build = subprocess.run(
        ["noma", "build-exe", "p.noma", "-o", "p"], cwd=directory, capture_output=True,
        text=True, stdin=subprocess.DEVNULL, timeout=300, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    return directory / "p"


def run_exe(
    exe: Path, size: str, limit_bytes: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The executable on `size` (written to s.csv beside it), optionally with
    an address-space limit."""
    (exe.parent / "s.csv").write_text(size + "\n")

    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.run(
        [str(exe), "--arg", "S=s.csv"], cwd=exe.parent, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=300, check=False, preexec_fn=limit,
    )  # fmt: skip


@pytest.fixture(scope="module")
def sizes_program(tmp_path_factory: pytest.TempPathFactory) -> tuple[Program, Path]:
    """The program compiled once for the JIT, and where its size file goes."""
    csv = tmp_path_factory.mktemp("sizes_jit") / "s.csv"
    csv.write_text("4, 1, 1\n")
    program = Program(SIZES, "p.noma", arg_ranks({"S": str(csv)}))
    program.jit  # noqa: B018  (compiled now, not in the first case)
    return program, csv


def run_jit(
    sizes_program: tuple[Program, Path], size: str, capfd: pytest.CaptureFixture[str]
) -> subprocess.CompletedProcess[str]:
    """One run in this process, as `noma run` makes it: exit status 1 when
    the program stops with a runtime error."""
    program, csv = sizes_program
    csv.write_text(size + "\n")
    capfd.readouterr()
    try:
        program.run(args={"S": str(csv)})
        status = 0
    except ProgramError:
        status = 1
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess([], status, out, err)


def check_outcome(
    proc: subprocess.CompletedProcess[str], error: str | None, output: str | None
) -> None:
    if error is None:
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, output, "")
        return
    assert proc.returncode == 1, (proc.returncode, proc.stderr)  # a signal is negative
    assert proc.stdout == ""
    assert proc.stderr.startswith(error), proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.endswith("\n"), proc.stderr


@pytest.mark.parametrize("case", CASES)
def test_sizes_and_indices_in_the_jit(
    sizes_program: tuple[Program, Path], capfd: pytest.CaptureFixture[str], case: str
) -> None:
    size, error, output = CASES[case]
    check_outcome(run_jit(sizes_program, size, capfd), error, output)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "alloc B = [n, 10];\n    print(B[1][0]);",
            "p.noma:3:5: runtime error: cannot allocate a [100000000000, 10] buffer: "
            "it needs 8000000000000 bytes, more than the memory of this machine (",
        ),
        (
            "print(rand_tensor(n, 10)[1][0]);",
            "p.noma:3:11: runtime error: cannot allocate a [100000000000, 10] buffer: "
            "it needs 8000000000000 bytes, more than the memory of this machine (",
        ),
    ],
)
def test_the_issues_programs_with_noma_run(tmp_path: Path, statement: str, message: str) -> None:
    """The issue's programs (a segfault, exit 139, before), through the CLI."""
    source = f"fn main() {{\n    let n = sum(tensor [100000000000.0]);\n    {statement}\n}}\n"
    check_outcome(run_cli(tmp_path, source), message, None)


@pytest.mark.parametrize("case", CASES)
def test_sizes_and_indices_in_an_executable(sizes_exe: Path, case: str) -> None:
    size, error, output = CASES[case]
    check_outcome(run_exe(sizes_exe, size), error, output)


def physical_memory() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def test_a_failed_malloc_is_located_in_an_executable(sizes_exe: Path) -> None:
    """Under a 600 MB address-space limit, a 1.6 GB buffer passes the size
    check (the machine has the memory) and malloc returns NULL."""
    if physical_memory() < 4 * 10**9:
        pytest.skip("needs 4 GB of physical memory, so that 1.6 GB passes the size check")
    proc = run_exe(sizes_exe, "4, 200000000, 1", limit_bytes=600 * 10**6)
    check_outcome(
        proc,
        ALLOC_1D + "runtime error: cannot allocate a [200000000] buffer: "
        "out of memory (1600000000 bytes)\n",
        None,
    )


def test_a_failed_malloc_of_a_temporary_is_located_at_its_op(sizes_exe: Path) -> None:
    """`D + 1.0` needs a second 400 MB buffer, which a 600 MB address space
    refuses: reported at the `+` (not at the `alloc` of the same size that
    was checked last), with the byte count."""
    if physical_memory() < 4 * 10**9:
        pytest.skip("needs 4 GB of physical memory, so that 400 MB passes the size check")
    proc = run_exe(sizes_exe, "5, 50000000, 1", limit_bytes=600 * 10**6)
    check_outcome(
        proc, "p.noma:26:19: runtime error: out of memory: cannot allocate 400000000 bytes\n", None
    )


def test_a_failed_malloc_is_located_in_the_jit(tmp_path: Path) -> None:
    """The same in `noma run`, whose process (Python and LLVM) needs more
    address space: a 3 GiB limit and an 8 GB buffer."""
    if physical_memory() < 10 * 10**9:
        pytest.skip("needs 10 GB of physical memory, so that 8 GB passes the size check")
    (tmp_path / "p.noma").write_text(SIZES)
    (tmp_path / "s.csv").write_text("4, 1000000000, 1\n")
    limit = 3 * 2**30
    proc = subprocess.run(
        ["noma", "run", "p.noma", "--arg", "S=s.csv"], cwd=tmp_path, capture_output=True,
        text=True, stdin=subprocess.DEVNULL, timeout=300, check=False,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
    )  # fmt: skip
    check_outcome(
        proc,
        ALLOC_1D + "runtime error: cannot allocate a [1000000000] buffer: "
        "out of memory (8000000000 bytes)\n",
        None,
    )


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "alloc B = [1e18, 1e18];",
            "p.noma:2:5: error: cannot allocate a [1000000000000000000, 1000000000000000000] "
            "buffer: it needs 8e+36 bytes, " + LIMIT,
        ),
        (
            "alloc B = [1e19];",
            "p.noma:2:5: error: cannot allocate a [10000000000000000000] buffer: "
            "it needs 80000000000000000000 bytes, " + LIMIT,
        ),
        (
            "let r = rand_tensor(1e19);",
            "p.noma:2:13: error: cannot allocate a [10000000000000000000] buffer: "
            "it needs 80000000000000000000 bytes, " + LIMIT,
        ),
        (
            "learn W = tensor [1.0, 2.0];\n    realloc W = [4611686018427387904];",
            "p.noma:3:5: error: cannot allocate a [4611686018427387904] buffer: "
            "it needs 36893488147419103232 bytes, " + LIMIT,
        ),
        ("alloc B = [3, 0.5];", "p.noma:2:19: error: a dimension must be at least 1, got 0.5"),
    ],
)
def test_constant_sizes_are_compile_errors(tmp_path: Path, statement: str, message: str) -> None:
    proc = run_cli(tmp_path, f"fn main() {{\n    {statement}\n}}\n")
    assert proc.returncode == 1, proc.stdout
    assert proc.stderr.splitlines()[0] == message
    assert "internal compiler error" not in proc.stderr


def test_constant_size_error_in_build_exe(tmp_path: Path) -> None:
    """`build-exe` reports it the same way and writes nothing."""
    (tmp_path / "p.noma").write_text("fn main() {\n    alloc B = [1e19];\n}\n")
    proc = subprocess.run(
        ["noma", "build-exe", "p.noma", "-o", "p"], cwd=tmp_path, capture_output=True,
        text=True, stdin=subprocess.DEVNULL, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "p.noma:2:5: error: cannot allocate a [10000000000000000000] buffer"
    )
    assert not (tmp_path / "p").exists()


def test_large_valid_allocations_work(tmp_path: Path) -> None:
    """A 1000 x 1000 buffer and a 1000 x 100 random tensor (uniform on [0, 1):
    its mean is 0.5 within a few standard errors, 0.29 / sqrt(1e5))."""
    source = (
        "fn main() {\n    alloc B = [1000, 1000];\n    print(sum(B));\n"
        "    let r = rand_tensor(1000, 100);\n    print(mean(r));\n}\n"
    )
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    zeros, mean = proc.stdout.split()
    assert float(zeros) == 0.0
    assert abs(float(mean) - 0.5) < 0.01


# -- the C runtime's checks, called directly ----------------------------------------

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "noma_runtime.h"

/* harness WHERE FAIL_BYTES FAIL_WHERE d0 d1 ...: noma_check_dims at WHERE
 * (then "checked"), then, unless FAIL_BYTES is "-", noma_alloc_failed of
 * FAIL_BYTES at FAIL_WHERE. */
int main(int argc, char **argv)
{
    char *where = argv[1];
    double dims[16];
    int rank = argc - 4;
    for (int i = 0; i < rank; ++i)
        dims[i] = strtod(argv[4 + i], NULL);
    noma_check_dims(where, where, 0, (int64_t)strlen(where), 1, dims, dims, 0,
                    rank, 1);
    printf("checked\n");
    if (strcmp(argv[2], "-") != 0)
        noma_alloc_failed(strtoll(argv[2], NULL, 10), argv[3],
                          (int64_t)strlen(argv[3]));
    return 0;
}
"""
AT = "prog.noma:3:5: "


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("memory_harness")
    return build_with_runtime(
        directory, "harness", HARNESS, ["-std=c11", "-O2", *WARNINGS], quiet=True
    )


def call_harness(harness: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(harness), *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        (["0.5", "3"], "a dimension must be at least 1, got 0.5"),
        (["3", "nan"], "a dimension must be at least 1, got nan"),
        (["-inf"], "a dimension must be at least 1, got -inf"),
        (["3", "inf"], "cannot allocate a [3, inf] buffer: a dimension must be finite"),
        # 2^45 + 1 doubles: 8 bytes over 2^48.
        (
            ["35184372088833"],
            "cannot allocate a [35184372088833] buffer: it needs 281474976710664 bytes, " + LIMIT,
        ),
        # Each factor fits, the product does not even fit in 64 bits.
        (
            ["4294967296", "4294967296", "1.5"],
            "cannot allocate a [4294967296, 4294967296, 1.5] buffer: "
            "it needs 147573952589676412928 bytes, " + LIMIT,
        ),
    ],
)
def test_check_dims_refuses(harness: Path, dims: list[str], message: str) -> None:
    proc = call_harness(harness, AT, "-", "", *dims)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == f"{AT}runtime error: {message}\n"


def test_check_dims_accepts_and_truncates(harness: Path) -> None:
    """[2.9, 3] is a [2, 3] buffer; exactly 2^45 doubles is within the limit
    (only the machine's memory can refuse it)."""
    assert call_harness(harness, AT, "-", "", "2.9", "3").stdout == "checked\n"
    proc = call_harness(harness, AT, "-", "", "35184372088832")
    assert "2^48" not in proc.stderr


def test_alloc_failed_names_the_shape_checked_at_the_same_place(harness: Path) -> None:
    """48 bytes = [2, 3] doubles, checked at the same place: the shape; at
    another place, or another size: the byte count only."""
    proc = call_harness(harness, AT, "48", AT, "2.5", "3")
    assert (proc.returncode, proc.stdout) == (1, "checked\n")
    assert proc.stderr == (
        f"{AT}runtime error: cannot allocate a [2.5, 3] buffer: out of memory (48 bytes)\n"
    )
    other = "prog.noma:9:1: "
    proc = call_harness(harness, AT, "48", other, "2", "3")
    assert proc.stderr == f"{other}runtime error: out of memory: cannot allocate 48 bytes\n"
    proc = call_harness(harness, AT, "56", AT, "2", "3")
    assert proc.stderr == f"{AT}runtime error: out of memory: cannot allocate 56 bytes\n"
    proc = call_harness(harness, AT, "-1", "", "2", "3")
    assert proc.returncode == 1
    assert proc.stderr == "runtime error: out of memory: the size of a buffer overflows 64 bits\n"
