"""The example at the top of docs/python.md runs and does what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def test_the_training_example_learns_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    program = namespace["program"]
    params = program.parameters  # type: ignore[attr-defined]
    assert abs(params["W"].ravel() - [2.0, -1.0]).max() < 0.05
    assert abs(float(params["b"]) - 0.5) < 0.05
    printed_loss, printed_params = capsys.readouterr().out.splitlines()
    assert float(printed_loss) < 0.0001
    assert namespace["pred"].shape == (64, 1)  # type: ignore[attr-defined]
