"""The example notebook `examples/noma_notebook.ipynb`, executed by nbclient
with a local IPython kernel as Jupyter would run it: every cell runs without
a Python error and shows what the notebook says it shows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip(
    "nbformat", reason="nbformat is not installed (pip install -e '.[notebook]'): notebook not run"
)
nbclient = pytest.importorskip(
    "nbclient", reason="nbclient is not installed (pip install -e '.[notebook]'): notebook not run"
)
pytest.importorskip(
    "ipykernel",
    reason="ipykernel is not installed (pip install -e '.[notebook]'): notebook not run",
)

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    notebook = nbformat.read(EXAMPLES / "noma_notebook.ipynb", as_version=4)
    # Run where its checkpoint may be written: not in the repository.
    workdir = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return [c for c in notebook.cells if c.cell_type == "code"]


def outputs(cells: list[Any], starting: str) -> dict[str, str]:
    """stdout, stderr and the cell's value (text) of the code cell whose
    source starts with `starting`."""
    (found,) = [c for c in cells if c.source.startswith(starting)]
    shown = {"stdout": "", "stderr": "", "value": ""}
    for output in found.outputs:
        assert output.output_type != "error", f"{starting!r}: {output.get('evalue')}"
        if output.output_type == "stream":
            shown[output.name] += output.text
        elif output.output_type == "execute_result":
            shown["value"] = output.data["text/plain"]
    return shown


def test_every_cell_runs_without_a_python_error(executed: list[Any]) -> None:
    for cell in executed:
        for output in cell.outputs:
            assert output.output_type != "error", f"{cell.source!r}: {output.get('evalue')}"
            assert "Traceback" not in output.get("text", "")


def test_printing_and_values(executed: list[Any]) -> None:
    assert outputs(executed, "%%noma\nprint(sigmoid")["stdout"] == "0.5\n"
    squares = outputs(executed, "%%noma\nfn square")
    assert squares["stdout"] == "25.0\n"
    assert squares["value"] == "5.0"


def test_training_on_numpy_arrays(executed: list[Any]) -> None:
    training = outputs(executed, "%%noma --arg X=X --arg Y=Y --out fit ")
    assert training["stdout"] == "1.0\n"  # the loss went below its target
    assert float(training["value"]) == pytest.approx(0.337, abs=0.01)
    shown = outputs(executed, "print(np.round(fit_parameters")["stdout"]
    numbers = [float(x) for x in re.findall(r"-?\d+\.\d*", shown)]
    assert numbers == pytest.approx([2.0, -1.0, 0.5], abs=0.01)


def test_checkpoint_and_resume(executed: list[Any]) -> None:
    first = outputs(executed, "%%noma --arg X=X --arg Y=Y --out first")
    resumed = outputs(executed, "%%noma --arg X=X --arg Y=Y --out resumed")
    straight = outputs(executed, "%%noma --arg X=X --arg Y=Y --out straight")
    assert resumed["value"] == straight["value"] != first["value"]
    shown = outputs(executed, 'print(resumed_parameters["W"]')["stdout"].splitlines()
    assert shown[-1] == "bit-identical: True"


def test_errors_are_located_in_the_cell(executed: list[Any]) -> None:
    shown = outputs(executed, "%%noma\nlet x = 1.0;")
    assert (
        shown["stderr"]
        == "<cell>:2:11: error: unknown variable 'y'\n    print(x + y);\n              ^\n"
    )
    assert shown["stdout"] == shown["value"] == ""


def test_stage_and_info(executed: list[Any]) -> None:
    ir = outputs(executed, "%%noma --stage autodiff")["stdout"]
    assert ir.startswith("builtin.module {") and 'noma.learn "w"' in ir
    info = outputs(executed, "%noma_info")["stdout"]
    assert re.search(r"^cache +\S", info, re.MULTILINE) and re.search(
        r"^target CPU +\S", info, re.MULTILINE
    )
