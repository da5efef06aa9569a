"""Calls into the C runtime, as seen from the `loops` level.

Runtime functions are declared as private `func.func`s; strings (printed text,
diagnostics) become constant `memref.global`s of bytes, passed as
`memref<?xi8>`, the form MLIR's calling convention expands into (pointer,
pointer, offset, size, stride) on both our lowering and upstream's.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseIntOrFPElementsAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
    f64,
    i8,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue

STRING = MemRefType(i8, [DYNAMIC_INDEX])

RUNTIME_FUNCTIONS: dict[str, tuple[tuple[Attribute, ...], tuple[Attribute, ...]]] = {
    "noma_print_f64": ((f64,), ()),
    "noma_print_str": ((STRING,), ()),
    "noma_print_tensor": ((MemRefType(f64, [DYNAMIC_INDEX]), MemRefType(i64, [DYNAMIC_INDEX])), ()),
    "noma_warning": ((STRING, f64), ()),
    "noma_runtime_error": ((STRING, f64, f64), ()),
    "noma_tape_new": ((), (i64,)),
    "noma_tape_push": ((i64, f64), ()),
    "noma_tape_pop": ((i64,), (f64,)),
    "noma_tape_free": ((i64,), ()),
}
"""Name -> (argument types, result types) of the runtime's C functions."""


class Runtime:
    """Declares runtime functions and string constants in a module, once."""

    def __init__(self, module: ModuleOp):
        self.module = module
        self.declared: set[str] = {
            op.sym_name.data for op in module.ops if isinstance(op, func.FuncOp)
        }
        self.strings: dict[str, str] = {}
        for op in module.ops:
            if isinstance(op, memref.GlobalOp) and op.sym_name.data.startswith("__noma_str"):
                self.strings.setdefault(_global_text(op), op.sym_name.data)

    def call(
        self, b: Builder, name: str, args: Sequence[SSAValue], location: Attribute
    ) -> Operation:
        inputs, outputs = RUNTIME_FUNCTIONS[name]
        if name not in self.declared:
            self.module.body.block.add_op(func.FuncOp.external(name, inputs, outputs))
            self.declared.add(name)
        op = func.CallOp(name, args, list(outputs))
        op.location = location
        b.insert(op)
        return op

    def string(self, b: Builder, text: str, location: Attribute) -> SSAValue:
        """A `memref<?xi8>` holding the UTF-8 bytes of `text`."""
        data = text.encode("utf-8")
        symbol = self.strings.get(text)
        if symbol is None:
            symbol = f"__noma_str{len(self.strings)}"
            self.strings[text] = symbol
            signed = [v - 256 if v > 127 else v for v in data]
            initial = DenseIntOrFPElementsAttr.from_list(TensorType(i8, [len(data)]), signed)
            self.module.body.block.add_op(
                memref.GlobalOp.get(
                    StringAttr(symbol),
                    MemRefType(i8, [len(data)]),
                    initial,
                    constant=UnitAttr(),
                )
            )
        get = b.insert(memref.GetGlobalOp(symbol, MemRefType(i8, [len(data)])))
        cast = b.insert(memref.CastOp.get(get.memref, STRING))
        get.location = cast.location = location
        return cast.results[0]


def _global_text(op: memref.GlobalOp) -> str:
    initial = op.initial_value
    assert isinstance(initial, DenseIntOrFPElementsAttr)
    return bytes(v % 256 for v in initial.get_values()).decode("utf-8")
