"""`noma-opt --verify-diagnostics`, the MLIR way.

The input carries annotations in comments, e.g.

    // expected-error@+1 {{unknown comparison predicate}}
    %0 = noma.cmp "less", %x, %x : f64, f64 -> f64

`expected-error`, `expected-warning`, `expected-note` and `expected-remark`,
with the designators `@+N`, `@-N`, `@above`, `@below` (the closest line
above or below that holds no annotation), `@unknown` (a diagnostic without
a location) or none (the annotation's own line). Each emitted diagnostic
must match one annotation (same severity and line, message containing the
text between `{{` and `}}`) and each annotation one diagnostic; every
mismatch is reported as a located error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANNOTATION = re.compile(
    r"expected-(?P<severity>error|warning|note|remark)"
    r"\s*(?:@(?P<where>[+-]\d+|above|below|unknown))?\s*\{\{(?P<text>.*?)\}\}"
)


@dataclass(frozen=True)
class Diagnostic:
    """A diagnostic as emitted: `line` is in the input file (None when it
    has no location there)."""

    severity: str
    message: str
    line: int | None
    col: int = 1


@dataclass(frozen=True)
class Expectation:
    severity: str
    text: str
    line: int | None
    """The line the diagnostic is expected on; None for `@unknown`."""
    annotation_line: int
    annotation_col: int


def parse_expectations(text: str, first_line: int = 1) -> list[Expectation]:
    """The annotations of `text`, whose first line is line `first_line` of
    the input file (a chunk of `--split-input-file`)."""
    lines = text.split("\n")
    annotated = [_ANNOTATION.search(line) is not None for line in lines]

    def plain_line(index: int, step: int) -> int:
        """The closest line from `index` in direction `step` with no annotation."""
        while 0 <= index < len(lines) and annotated[index]:
            index += step
        return index

    expectations: list[Expectation] = []
    for index, line in enumerate(lines):
        for match in _ANNOTATION.finditer(line):
            where = match.group("where")
            target: int | None
            if where is None:
                target = index
            elif where == "unknown":
                target = None
            elif where == "above":
                target = plain_line(index - 1, -1)
            elif where == "below":
                target = plain_line(index + 1, 1)
            else:
                target = index + int(where)
            expectations.append(
                Expectation(
                    severity=match.group("severity"),
                    text=match.group("text"),
                    line=None if target is None else target + first_line,
                    annotation_line=index + first_line,
                    annotation_col=match.start() + 1,
                )
            )
    return expectations


def _matches(expectation: Expectation, diagnostic: Diagnostic) -> bool:
    return (
        expectation.severity == diagnostic.severity
        and expectation.line == diagnostic.line
        and expectation.text in diagnostic.message
    )


def check(filename: str, expectations: list[Expectation], emitted: list[Diagnostic]) -> list[str]:
    """One located error message per mismatch between `expectations` and
    the diagnostics `emitted`; none when they agree."""
    unmet = list(expectations)
    problems: list[str] = []
    for diagnostic in emitted:
        met = next((e for e in unmet if _matches(e, diagnostic)), None)
        if met is not None:
            unmet.remove(met)
            continue
        where = (
            filename
            if diagnostic.line is None
            else f"{filename}:{diagnostic.line}:{diagnostic.col}"
        )
        problems.append(f"{where}: error: unexpected {diagnostic.severity}: {diagnostic.message}")
    for expectation in unmet:
        problems.append(
            f"{filename}:{expectation.annotation_line}:{expectation.annotation_col}: error: "
            f'expected {expectation.severity} "{expectation.text}" was not produced'
        )
    return problems
