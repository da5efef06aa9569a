"""No heap traffic in steady-state training (issue 13, point 3): an
executable runs under an `LD_PRELOAD` library, built here, that counts
`malloc` calls; the same program with twice as many optimizer steps must
call `malloc` exactly as often. Covered: the self-growing XOR demo after its
growth (user functions and their adjoints, inlined by noma-inline-calls,
whose temporaries are then hoisted), and training on data read from files
(temporaries of dynamic shape, kept across iterations by
noma-hoist-temporaries), the digits classifier (an MLP on mini-batches of
run-time shape) and tensors carried by `while` loops, in training (the RNN
example, whose loop is also replayed backwards) and alone (the carried
buffers alternate, by noma-recycle-carried-buffers)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import noma
from noma.executable import build_executable
from noma.runtime.build import find_c_compiler

pytestmark = [
    pytest.mark.slow,  # builds executables
    pytest.mark.skipif(sys.platform != "linux", reason="LD_PRELOAD malloc counting is Linux-only"),
]

ROOT = Path(__file__).resolve().parent.parent

COUNTER = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
static long calls;
static void *(*real_malloc)(size_t);
void *malloc(size_t n)
{
    if (real_malloc == NULL)
        real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    calls++;
    return real_malloc(n);
}
__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("MALLOC_COUNT_FILE");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f != NULL) {
        fprintf(f, "%ld\n", calls);
        fclose(f);
    }
}
"""


@pytest.fixture(scope="module")
def counter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("malloc_counter")
    source = directory / "count.c"
    source.write_text(COUNTER)
    library = directory / "libcount.so"
    subprocess.run(
        [*find_c_compiler(), "-O2", "-shared", "-fPIC", "-o", str(library), str(source), "-ldl"],
        check=True,
        capture_output=True,
    )
    return library


def mallocs(counter: Path, source: str, directory: Path, name: str) -> int:
    """Build `source` into an executable and count its mallocs in one run."""
    program = directory / f"{name}.noma"
    program.write_text(source)
    exe = directory / name
    build_executable(noma.compile(program), exe)
    count_file = directory / f"{name}.count"
    env = {**os.environ, "LD_PRELOAD": str(counter), "MALLOC_COUNT_FILE": str(count_file)}
    ran = subprocess.run([str(exe)], env=env, cwd=directory, capture_output=True, check=False)
    assert ran.returncode == 0, ran.stderr.decode()
    return int(count_file.read_text())


def test_growth_demo_after_growth(counter: Path, tmp_path: Path) -> None:
    demo = (ROOT / "examples" / "self_growing_xor.noma").read_text()
    assert "let max_iterations = 120;" in demo and "adam(0.12) until loss < 0.002" in demo
    counts = [
        mallocs(
            counter,
            demo.replace("let max_iterations = 120;", f"let max_iterations = {steps};").replace(
                "adam(0.12) until loss < 0.002", "adam(0.12) until loss < 0.0"
            ),
            tmp_path,
            f"growth{steps}",
        )
        for steps in (60, 120)
    ]
    assert counts[0] == counts[1], f"{(counts[1] - counts[0]) / 60} mallocs per step"


def test_training_on_data_of_run_time_shape(counter: Path, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "data", tmp_path / "examples" / "data")
    source = (ROOT / "examples" / "csv_linear_regression.noma").read_text()
    assert "adam(0.1) until loss < 1e-12" in source
    counts = [
        mallocs(
            counter,
            source.replace(
                "adam(0.1) until loss < 1e-12",
                f"adam(lr=0.1, max_iterations={steps}) until loss < 0.0",
            ),
            tmp_path,
            f"regression{steps}",
        )
        for steps in (100, 200)
    ]
    assert counts[0] == counts[1], f"{(counts[1] - counts[0]) / 100} mallocs per step"


def test_dynamic_shape_mlp_on_digits(counter: Path, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "data", tmp_path / "examples" / "data")
    source = (ROOT / "examples" / "digits_mlp.noma").read_text()
    assert "until epoch == 20" in source
    counts = [
        mallocs(
            counter,
            source.replace("until epoch == 20", f"until epoch == {epochs}"),
            tmp_path,
            f"digits{epochs}",
        )
        for epochs in (2, 4)
    ]
    assert counts[0] == counts[1], f"{(counts[1] - counts[0]) / 90} mallocs per step"


def test_loop_carried_tensor_in_training(counter: Path, tmp_path: Path) -> None:
    source = (ROOT / "examples" / "rnn_sequence.noma").read_text()
    assert "adam(0.05, max_iterations=500) until loss < 0.0002" in source
    counts = [
        mallocs(
            counter,
            source.replace(
                "adam(0.05, max_iterations=500) until loss < 0.0002",
                f"adam(0.05, max_iterations={steps}) until loss < 0.0",
            ),
            tmp_path,
            f"rnn{steps}",
        )
        for steps in (50, 100)
    ]
    assert counts[0] == counts[1], f"{(counts[1] - counts[0]) / 50} mallocs per step"


CARRIED = """
fn main() {
    load_csv x = "x.csv";
    let h = x * 0;
    let i = 0;
    while i < ITERATIONS {
        h = tanh(h * 0.5 + x);
        i = i + 1;
    }
    print(sum(h));
}
"""


def test_loop_carried_tensor_of_run_time_shape(counter: Path, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("0.1,0.2,0.3\n0.4,0.5,0.6\n")
    counts = [
        mallocs(counter, CARRIED.replace("ITERATIONS", str(n)), tmp_path, f"carried{n}")
        for n in (100, 200)
    ]
    assert counts[0] == counts[1], f"{(counts[1] - counts[0]) / 100} mallocs per iteration"
