"""`noma-opt -t llvm`: LLVM IR of llvm-dialect input, by NOMA's translation
(the one `noma-translate` uses), whose errors are located diagnostics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.target import Target


@dataclass(frozen=True)
class NomaLLVMTarget(Target):
    name = "llvm"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from noma.lowering.translate import translate_to_llvmir

        output.write(translate_to_llvmir(module))


def load_llvm_target() -> type[Target]:
    return NomaLLVMTarget
