"""Calls into the C runtime, as seen from the `loops` level.

Runtime functions are declared as private `func.func`s; strings (printed text,
diagnostics) become constant `memref.global`s of bytes, passed as
`memref<?xi8>`, the form MLIR's calling convention expands into (pointer,
pointer, offset, size, stride) on both our lowering and upstream's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
    f64,
    i8,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint

from noma.diagnostics import op_loc
from noma.runtime import abi

STRING_GLOBALS = "__noma_str"
"""The `memref.global`s holding the module's strings: `__noma_str<n>`."""

STRING = MemRefType(i8, [DYNAMIC_INDEX])
SHAPE = MemRefType(i64, [DYNAMIC_INDEX])
FLAT = MemRefType(f64, [DYNAMIC_INDEX])

_LOOPS_TYPES: dict[abi.Kind, Attribute] = {
    abi.Kind.F64: f64,
    abi.Kind.I64: i64,
    abi.Kind.STRING: STRING,
    abi.Kind.FLAT: FLAT,
    abi.Kind.SHAPE: SHAPE,
}

RUNTIME_FUNCTIONS: dict[str, tuple[tuple[Attribute, ...], tuple[Attribute, ...]]] = {
    f.name: (
        tuple(_LOOPS_TYPES[kind] for kind in f.params),
        (_LOOPS_TYPES[f.result],) if f.result is not None else (),
    )
    for f in abi.called_by(abi.Caller.COMPILED)
}
"""Name -> (argument types, result types) at the loops level of the
runtime functions compiled code calls, from the one declaration in
`noma.runtime.abi`."""


def location_prefix(op: Operation) -> str:
    """`prog.noma:3:5: `: how the runtime's messages about `op` begin."""
    loc = op_loc(op)
    return f"{loc}: " if loc is not None else ""


def located_text(op: Operation, severity: str, text: str) -> str:
    """`prog.noma:3:5: runtime error: text`, a template for the runtime's
    `{k}` placeholders: braces of the location (a file `p{0}.noma`) are
    doubled, which the runtime writes as one."""
    return f"{location_prefix(op).replace('{', '{{')}{severity}: {text}"


class Runtime:
    """Declares runtime functions and string constants in a module, once."""

    def __init__(self, module: ModuleOp):
        self.module = module
        self.declared: set[str] = {
            op.sym_name.data for op in module.ops if isinstance(op, func.FuncOp)
        }
        self.strings: dict[str, str] = {}
        for op in module.ops:
            if isinstance(op, memref.GlobalOp) and op.sym_name.data.startswith(STRING_GLOBALS):
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

    def check(
        self,
        b: Builder,
        ok: SSAValue,
        located_message: str,
        values: Sequence[SSAValue],
        location: Attribute,
    ) -> None:
        """Unless `ok` (an i1) holds, report `located_message` with `{0}`
        and `{1}` replaced by the f64 `values` and exit with status 1."""

        def report(fb: Builder) -> None:
            args = list(values)
            args += [fb.insert(arith.ConstantOp(FloatAttr(0.0, f64))).result] * (2 - len(args))
            text = self.string(fb, located_message, location)
            self.call(fb, "noma_runtime_error", [text, *args], location)

        self.unless(b, ok, report, location)

    def check_shapes(
        self,
        b: Builder,
        ok: SSAValue,
        located_message: str,
        shapes: tuple[Sequence[SSAValue], Sequence[SSAValue]],
        location: Attribute,
    ) -> None:
        """Unless `ok` holds, report `located_message` with `{0}` and `{1}`
        replaced by two shapes (lists of `index` dimensions), as `[2, 16]`."""

        def report(fb: Builder) -> None:
            # On the failing path only, which runs once: a stack array is fine here.
            arrays = [self.shape_array(fb, dims) for dims in shapes]
            text = self.string(fb, located_message, location)
            self.call(fb, "noma_shape_error", [text, *arrays], location)

        self.unless(b, ok, report, location)

    @staticmethod
    def shape_array(
        b: Builder, dims: Sequence[SSAValue], alloca_at: Builder | None = None
    ) -> SSAValue:
        """The `index` dimensions `dims` as a `memref<?xi64>`, the form the
        runtime takes shapes in; its stack array is made at `alloca_at`
        (default: `b`)."""
        array = (alloca_at or b).insert(memref.AllocaOp.get(i64, shape=[len(dims)])).memref
        for axis, d in enumerate(dims):
            as_int = b.insert(arith.IndexCastOp(d, i64)).result
            position = b.insert(arith.ConstantOp(IntegerAttr(axis, IndexType()))).result
            b.insert(memref.StoreOp.get(as_int, array, [position]))
        return b.insert(memref.CastOp.get(array, SHAPE)).results[0]

    @staticmethod
    def unless(
        b: Builder, ok: SSAValue, report: Callable[[Builder], None], location: Attribute
    ) -> None:
        """`scf.if !ok { report }`, every op at `location`."""
        true = b.insert(arith.ConstantOp(IntegerAttr(1, 1))).result
        failed = b.insert(arith.XOrIOp(ok, true)).result
        block = Block()
        report(Builder(InsertPoint.at_end(block)))
        block.add_op(scf.YieldOp())
        if_op = b.insert(scf.IfOp(failed, [], Region(block)))
        for op in (*block.walk(), if_op, failed.owner, true.owner):
            op.location = location  # type: ignore[union-attr]

    def string(self, b: Builder, text: str, location: Attribute) -> SSAValue:
        """A `memref<?xi8>` holding the UTF-8 bytes of `text`."""
        data = text.encode("utf-8")
        symbol = self.strings.get(text)
        if symbol is None:
            symbol = f"{STRING_GLOBALS}{len(self.strings)}"
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
