"""Memory effects particular to NOMA: writes to the program's output.

xDSL's effect traits say *what kind* of effect an op has (read, write,
allocate, free) and, through a `Resource`, *on what*. Printing, warnings,
run-time checks and file saves write to the world outside the program's own
state (stdout, stderr, files, the exit status): the `ProgramOutput`
resource. Passes can tell such ops from writes to the program's storage
without a list of op classes; autodiff, for one, drops them from
recomputed code (the forward run already produced that output) and refuses
to recompute writes to anything else.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from xdsl.ir import Operation
from xdsl.traits import EffectInstance, MemoryEffect, MemoryEffectKind, Resource


@dataclass(frozen=True)
class ProgramOutput(Resource):
    """What the program shows outside: stdout, stderr, files, exit status."""

    def name(self) -> str:
        return "noma::ProgramOutput"


PROGRAM_OUTPUT_WRITE = EffectInstance(MemoryEffectKind.WRITE, resource=ProgramOutput())

_WRITES_PROGRAM_OUTPUT = frozenset((PROGRAM_OUTPUT_WRITE,))


class WritesProgramOutput(MemoryEffect):
    """The op writes to the program's output (and may stop the program):
    an effect no pass may drop from the program, but one that repeating
    the op would duplicate."""

    @classmethod
    def get_effects(cls, op: Operation) -> AbstractSet[EffectInstance]:
        return _WRITES_PROGRAM_OUTPUT


def writes_only_program_output(effects: AbstractSet[EffectInstance]) -> bool:
    """Whether every write among `effects` goes to the program's output
    (reads aside), and there is at least one."""
    writes = [e for e in effects if e.kind != MemoryEffectKind.READ]
    return bool(writes) and all(e == PROGRAM_OUTPUT_WRITE for e in writes)
