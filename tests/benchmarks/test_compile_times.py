"""The compile-time benchmark's harness (benchmarks/run.py compile): which
processes it times, in which cache state, and that it refuses a wrong
answer. No timing is checked: timings belong to the benchmark."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from scripts import BENCHMARKS, load_script

pytestmark = pytest.mark.slow  # processes; see README.md, "Testing"

FAKE_NOMA = """
import os, sys, pathlib
# Records what it was asked and in which cache, then prints the .out of the
# example the program is a copy of (the copies carry the example's text).
log = pathlib.Path(os.environ["FAKE_LOG"])
source = pathlib.Path(sys.argv[2])
with log.open("a") as f:
    f.write(f"{sys.argv[1]} {source.name} {os.environ['NOMA_CACHE_DIR']}\\n")
for example in pathlib.Path(os.environ["FAKE_EXAMPLES"]).glob("[!.]*.noma"):
    if source.read_text().startswith(example.read_text()):
        sys.stdout.write(example.with_suffix(".out").read_text())
"""


@pytest.fixture(scope="module")
def compile_times() -> ModuleType:
    load_script(BENCHMARKS / "run.py")
    return load_script(BENCHMARKS / "compile_times.py")


@pytest.fixture
def fake_noma(
    compile_times: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    script = tmp_path / "fake_noma.py"
    script.write_text(FAKE_NOMA)
    log = tmp_path / "log"
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_EXAMPLES", str(compile_times.ROOT / "examples"))
    monkeypatch.setattr(
        compile_times, "tool", lambda name: [sys.executable, str(script)] if name == "noma" else None
    )
    return log


def test_run_cases_use_fresh_programs_and_caches_as_described(
    compile_times: ModuleType, fake_noma: Path, tmp_path: Path
) -> None:
    example = compile_times.EXAMPLES["xor"]
    result = compile_times.measure_run(example, 2, tmp_path / "work")
    assert set(result) == {"cold", "miss", "hit"}
    for case in result.values():
        assert len(case["wall_times_s"]) == 2 and len(case["cpu_times_s"]) == 2
        assert case["wall_s"] > 0
    calls = [line.split() for line in fake_noma.read_text().splitlines()]
    assert [c[0] for c in calls] == ["run"] * 7  # 2 cold, 1 warm-up, 2 miss, 2 hit
    cold, warm_up, miss, hit = calls[:2], calls[2], calls[3:5], calls[5:]
    # Cold: a new cache directory and a new program each time.
    assert len({c[2] for c in cold}) == 2 and all(c[2].endswith(("cold-0", "cold-1")) for c in cold)
    # Miss: the warm cache, a program never run before; hit: the example again.
    assert {c[2] for c in (warm_up, *miss, *hit)} == {str(tmp_path / "work" / "warm-cache")}
    programs = [c[1] for c in (*cold, *miss)]
    assert len(set(programs)) == 4 and example.name not in programs
    assert warm_up[1] == example.name and all(c[1] == example.name for c in hit)
    # The copies are removed.
    assert not list(example.parent.glob(".bench-*"))


def test_a_wrong_output_is_an_error(
    compile_times: ModuleType, fake_noma: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EXAMPLES", str(tmp_path))  # finds no example: prints nothing
    with pytest.raises(compile_times.CompileBenchmarkError, match="wrong output"):
        compile_times.measure_run(compile_times.EXAMPLES["xor"], 1, tmp_path / "work")
    assert not list(compile_times.EXAMPLES["xor"].parent.glob(".bench-*"))


def test_a_failing_tool_is_an_error(compile_times: ModuleType, tmp_path: Path) -> None:
    check = compile_times.expect_success
    with pytest.raises(compile_times.CompileBenchmarkError, match="exited 3"):
        compile_times.measure(
            lambda i: ([sys.executable, "-c", "raise SystemExit(3)"], {}), 1, check
        )


def test_noma_opt_is_measured_with_its_peers(compile_times: ModuleType, tmp_path: Path) -> None:
    """The real tools, one run each: noma-opt must succeed on the file."""
    result = compile_times.measure_opt(1, tmp_path)
    assert "noma_opt" in result and result["noma_opt"]["wall_s"] > 0
    json.dumps(result)  # the report is JSON
