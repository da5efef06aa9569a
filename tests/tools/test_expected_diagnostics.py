"""The annotations of `noma-opt --verify-diagnostics` and their matching,
the MLIR way (noma/tools/expected_diagnostics.py)."""

from __future__ import annotations

from noma.tools.expected_diagnostics import Diagnostic, Expectation, check, parse_expectations

ANNOTATED = """\
op_a  // expected-error {{on its own line}}
// expected-error@+1 {{next line}}
op_c
op_d
// expected-warning@-1 {{previous line}}
// expected-note@above {{above, past annotations}}
// expected-error@below {{below, past annotations}}
// expected-remark@unknown {{nowhere}}
op_i
"""


def test_designators_name_the_line_of_the_diagnostic() -> None:
    found = {e.text: (e.severity, e.line) for e in parse_expectations(ANNOTATED)}
    assert found == {
        "on its own line": ("error", 1),
        "next line": ("error", 3),
        "previous line": ("warning", 4),
        "above, past annotations": ("note", 4),
        "below, past annotations": ("error", 9),
        "nowhere": ("remark", None),
    }


def test_lines_count_from_the_chunks_first_line() -> None:
    [expectation] = parse_expectations("\n// expected-error@+1 {{x}}\nop\n", first_line=10)
    assert (expectation.line, expectation.annotation_line, expectation.annotation_col) == (
        12,
        11,
        4,
    )


def test_a_diagnostic_matches_severity_line_and_message_part() -> None:
    expected = parse_expectations("// expected-error@+1 {{no rule}}\nop\n")
    assert check("f.mlir", expected, [Diagnostic("error", "autodiff: no rule for 'x'", 2, 3)]) == []


def test_every_mismatch_is_a_located_error() -> None:
    expected = [Expectation("error", "wanted", 2, 1, 4)]
    problems = check(
        "f.mlir",
        expected,
        [Diagnostic("error", "got this", 2, 3), Diagnostic("error", "unlocated", None)],
    )
    assert problems == [
        "f.mlir:2:3: error: unexpected error: got this",
        "f.mlir: error: unexpected error: unlocated",
        'f.mlir:1:4: error: expected error "wanted" was not produced',
    ]


def test_wrong_line_or_severity_does_not_match() -> None:
    expected = parse_expectations("// expected-error {{m}}\n// expected-warning@+1 {{m}}\nop\n")
    emitted = [Diagnostic("error", "m", 2), Diagnostic("error", "m", 3)]
    assert len(check("f.mlir", expected, emitted)) == 4
