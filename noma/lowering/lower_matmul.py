"""The `noma-lower-matmul` pass: `noma_linalg.matmul` to tiled loops with a
register-blocked, vectorised micro-kernel.

    noma-lower-matmul{tile-m=192 tile-k=128 register-block=4x32 vector-width=8 fma=false inline-below=32768}

C = op(A) . op(B) (M x K by K x N) becomes, after C is zero-filled:

    for pc in 0..K step tile-k:                      k block
      for ic in 0..M step tile-m:                    rows of A kept in L2
        for jr in 0..N_full step NR:                 NR columns of C
          pack B[pc:pc+kc, jr:jr+NR] into P[kc][NR]  (contiguous, in L1)
          for ir in ic..(full MR blocks) step MR:    micro-kernel MR x NR
          for ir in (the rows left) step 1:          micro-kernel 1 x NR
        for je in N_full..N step W:                  the columns left, W at a time
          pack B[pc:pc+kc, je:je+W] into P[kc][W]    (zero-padded past N)
          for ir in ... step MR * NR / W:            edge kernel on a stack tile
          for ir in (the rows left) step 1:          edge kernel, one row

The micro-kernel loads the MR x NR block of C into MR * NR / W vectors of
W lanes (`vector-width`), and for each k of the block broadcasts A[i, k] and
adds its products with the packed row of B, the accumulators carried by the
k loop (registers), then stores them back. Every C[i, j] is therefore the
sum over k = 0, 1, ... in order, from 0.0, of A[i, k] * B[k, j], each product
rounded before the add (`fma=false`, the default): the same bits as the
naive loop, for any tile sizes. The edge kernel does the same for the N mod
NR columns left (all of them when N < NR, as for the 10 classes of an MLP's
output layer), W columns at a time: C's rows go through a small stack tile
whose lanes past N are zero, so the kernel reads and writes whole vectors
while C is only touched where it exists; it has as many accumulators as
the main kernel (MR * NR / W rows of one vector). It replaced scalar i-k-j
loops that loaded and stored C for every k: a 1797x128 by 128x10 product
(and the sum of its result) went from 5.2 to 20.8 GFLOP/s. Transposed operands are read in place, with
swapped indices; the packing makes B's layout irrelevant to the kernel.

`vector-width=auto` (the default) takes the host's: 8 f64 lanes with
AVX-512F, 4 with AVX2, else 2 (the code runs where it was compiled, as the
JIT and executables do); `register-block=auto` picks 4x32, 4x8 or 4x4 for
those widths.

The tiled loops live in one private function per operand layout,
`@__noma_matmul_{nn,tn,nt,tt}(A, B, C)` on `memref<?x?xf64>`, that every
matmul of that layout calls (one copy of the code per module: compile time
stays flat). A matmul of static shape with M * K * N < `inline-below` is
too small for tiling to pay: it becomes the zero fill and the scalar i-k-j
loops in place, which LLVM vectorises over j knowing the trip counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import arith, func, memref, scf, vector
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    FloatAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    VectorType,
    f64,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint, Rewriter

from noma.dialects.noma_linalg import MatmulOp

INDEX = IndexType()

_BLOCK_FOR_WIDTH = {8: (4, 32), 4: (4, 8), 2: (4, 4)}
"""register-block=auto: MR x NR for a vector width. 4x32 on AVX-512 keeps
16 accumulators, 4 vectors of the packed B row and a broadcast in the 32
zmm registers (measured on Zen 4: 31-32 GFLOP/s at 512, against 27-28 for
6x16 and 8x16)."""


@cache
def host_vector_width() -> int:
    """f64 lanes of the host's widest vector unit that LLVM will use."""
    import llvmlite.binding as llvm

    from noma.runtime.jit import _ensure_llvm_initialized  # LLVM set up once

    _ensure_llvm_initialized()
    features = llvm.get_host_cpu_features()
    if features.get("avx512f"):
        return 8
    if features.get("avx2") or features.get("avx"):
        return 4
    return 2


@dataclass(frozen=True)
class KernelShape:
    """The tiling of one matmul, from the pass options."""

    tile_m: int
    tile_k: int
    rows: int  # MR
    cols: int  # NR
    width: int  # W
    fma: bool

    @property
    def edge_rows(self) -> int:
        """Rows of the edge kernel (the columns past the last whole panel,
        W at a time): as many accumulators as the main kernel's MR * NR / W,
        so that as many independent sums hide the latency of the adds."""
        return self.rows * self.cols // self.width


class _Emitter:
    """Builds the loops of one matmul before it (see the module docstring)."""

    def __init__(
        self, op: MatmulOp, shape: KernelShape, panel: SSAValue, edge_tile: SSAValue | None = None
    ):
        self.op = op
        self.s = shape
        self.b = Builder(InsertPoint.before(op))
        self.panel = panel
        self.edge_tile = edge_tile
        """The edge kernel's rows of C (edge_rows x W), for `emit(vectorised=True)`."""
        self.vtype = VectorType(f64, [shape.width])
        self._constants: dict[int, SSAValue] = {}
        self._zero: SSAValue | None = None

    # -- small builders -------------------------------------------------------

    def insert(self, op: Operation) -> Operation:
        op.location = self.op.location  # errors in the loops point at the matmul
        return self.b.insert(op)

    def const(self, value: int) -> SSAValue:
        """An index constant, made once, before the matmul (so that it
        dominates every loop that uses it)."""
        if value not in self._constants:
            constant = arith.ConstantOp(IntegerAttr(value, INDEX))
            constant.location = self.op.location
            Rewriter.insert_op(constant, InsertPoint.before(self.op))
            self._constants[value] = constant.result
        return self._constants[value]

    def add(self, x: SSAValue, y: SSAValue) -> SSAValue:
        return self.insert(arith.AddiOp(x, y)).results[0]

    def sub(self, x: SSAValue, y: SSAValue) -> SSAValue:
        return self.insert(arith.SubiOp(x, y)).results[0]

    def mul(self, x: SSAValue, y: SSAValue) -> SSAValue:
        return self.insert(arith.MuliOp(x, y)).results[0]

    def rem(self, x: SSAValue, y: SSAValue) -> SSAValue:
        return self.insert(arith.RemUIOp(x, y)).results[0]

    def min(self, x: SSAValue, y: SSAValue) -> SSAValue:
        return self.insert(arith.MinUIOp(x, y)).results[0]

    def dim(self, buffer: SSAValue, axis: int) -> SSAValue:
        return self.insert(memref.DimOp(buffer, self.const(axis))).results[0]

    def loop(
        self,
        lower: SSAValue,
        upper: SSAValue,
        step: SSAValue,
        body: Callable[[SSAValue, Sequence[SSAValue]], Sequence[SSAValue]],
        carried: Sequence[SSAValue] = (),
    ) -> Sequence[SSAValue]:
        """`scf.for` whose body `body(iv, carried)` builds, yielding what it returns."""
        block = Block(arg_types=[INDEX, *(v.type for v in carried)])
        saved = self.b.insertion_point
        self.b.insertion_point = InsertPoint.at_end(block)
        yielded = body(block.args[0], block.args[1:])
        self.insert(scf.YieldOp(*yielded))
        self.b.insertion_point = saved
        return self.insert(scf.ForOp(lower, upper, step, list(carried), Region(block))).results

    def load(self, buffer: SSAValue, indices: Sequence[SSAValue]) -> SSAValue:
        return self.insert(memref.LoadOp.get(buffer, indices)).results[0]

    def store(self, value: SSAValue, buffer: SSAValue, indices: Sequence[SSAValue]) -> None:
        self.insert(memref.StoreOp.get(value, buffer, indices))

    def a_at(self, i: SSAValue, k: SSAValue) -> SSAValue:
        swap = self.op.transpose_a is not None
        return self.load(self.op.lhs, [k, i] if swap else [i, k])

    def b_at(self, k: SSAValue, j: SSAValue) -> SSAValue:
        swap = self.op.transpose_b is not None
        return self.load(self.op.rhs, [j, k] if swap else [k, j])

    def multiply_add(self, total: SSAValue, x: SSAValue, y: SSAValue) -> SSAValue:
        """total + x * y: rounded product then sum, unless `fma`."""
        if self.s.fma and isinstance(total.type, VectorType):
            return self.insert(vector.FMAOp(x, y, total)).results[0]
        product = self.insert(arith.MulfOp(x, y)).results[0]
        return self.insert(arith.AddfOp(total, product)).results[0]

    # -- the loops ------------------------------------------------------------

    def emit(self, vectorised: bool) -> None:
        """All the loops, or (not `vectorised`) the zero fill and scalar
        i-k-j loops over every column."""
        c = self.op.out
        zero, one = self.const(0), self.const(1)
        rows, cols = self.dim(c, 0), self.dim(c, 1)
        inner = self.dim(self.op.lhs, 0 if self.op.transpose_a is not None else 1)
        zero_f64 = self.zero_f64()

        def fill_row(i: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
            def fill(j: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                self.store(zero_f64, c, [i, j])
                return []

            self.loop(zero, cols, one, fill)
            return []

        self.loop(zero, rows, one, fill_row)
        if vectorised:
            full_cols = self.sub(cols, self.rem(cols, self.const(self.s.cols)))
            self.emit_blocks(rows, inner, full_cols, cols)
        else:
            self.emit_scalar(rows, inner, cols)

    def zero_f64(self) -> SSAValue:
        """0.0, made once, before the matmul."""
        if self._zero is None:
            constant = arith.ConstantOp(FloatAttr(0.0, f64))
            constant.location = self.op.location
            Rewriter.insert_op(constant, InsertPoint.before(self.op))
            self._zero = constant.result
        return self._zero

    def row_blocks(
        self,
        ic: SSAValue,
        m_end: SSAValue,
        mc: SSAValue,
        rows: int,
        block: Callable[[int, SSAValue], None],
    ) -> None:
        """`block(rows, ir)` for the whole blocks of `rows` rows from `ic`,
        then `block(1, ir)` for each row left before `m_end`."""
        m_full_end = self.sub(m_end, self.rem(mc, self.const(rows)))

        def blocks_of(count: int) -> Callable[[SSAValue, Sequence[SSAValue]], Sequence[SSAValue]]:
            def body(ir: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                block(count, ir)
                return []

            return body

        self.loop(ic, m_full_end, self.const(rows), blocks_of(rows))
        self.loop(m_full_end, m_end, self.const(1), blocks_of(1))

    def emit_blocks(
        self, rows: SSAValue, inner: SSAValue, full_cols: SSAValue, cols: SSAValue
    ) -> None:
        s = self.s

        def k_block(pc: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
            kc = self.min(self.const(s.tile_k), self.sub(inner, pc))

            def m_block(ic: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                mc = self.min(self.const(s.tile_m), self.sub(rows, ic))
                m_end = self.add(ic, mc)

                def n_panel(jr: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                    self.emit_pack(pc, kc, jr, s.cols, self.const(s.cols), padded=False)
                    self.row_blocks(
                        ic,
                        m_end,
                        mc,
                        s.rows,
                        lambda count, ir: self.emit_c_kernel(count, ir, jr, pc, kc),
                    )
                    return []

                def edge_chunk(je: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                    valid = self.min(self.const(s.width), self.sub(cols, je))
                    self.emit_pack(pc, kc, je, s.width, valid, padded=True)
                    self.row_blocks(
                        ic, m_end, mc, s.edge_rows,
                        lambda count, ir: self.emit_edge_kernel(count, ir, je, valid, pc, kc),
                    )  # fmt: skip
                    return []

                self.loop(self.const(0), full_cols, self.const(s.cols), n_panel)
                self.loop(full_cols, cols, self.const(s.width), edge_chunk)
                return []

            self.loop(self.const(0), rows, self.const(s.tile_m), m_block)
            return []

        self.loop(self.const(0), inner, self.const(s.tile_k), k_block)

    def emit_pack(
        self, pc: SSAValue, kc: SSAValue, jr: SSAValue, width: int, valid: SSAValue, padded: bool
    ) -> None:
        """P[k * width + c] = B[pc + k, jr + c] for c < `valid`, 0.0 for the
        columns after: the kernel's panel of B, contiguous (an edge panel
        padded with zeros, whose products land in lanes never stored)."""

        def row(k: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
            base = self.mul(k, self.const(width))

            def column(cc: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                value = self.b_at(self.add(pc, k), self.add(jr, cc))
                self.store(value, self.panel, [self.add(base, cc)])
                return []

            def padding(cc: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                self.store(self.zero_f64(), self.panel, [self.add(base, cc)])
                return []

            self.loop(self.const(0), valid, self.const(1), column)
            if padded:
                self.loop(valid, self.const(width), self.const(1), padding)
            return []

        self.loop(self.const(0), kc, self.const(1), row)

    def emit_c_kernel(
        self, rows: int, ir: SSAValue, jr: SSAValue, pc: SSAValue, kc: SSAValue
    ) -> None:
        """C[ir:ir+rows, jr:jr+NR] += A[ir:ir+rows, pc:pc+kc] . P, in registers."""
        s, c = self.s, self.op.out
        row_index = [self.add(ir, self.const(r)) for r in range(rows)]
        col_index = [self.add(jr, self.const(v * s.width)) for v in range(s.cols // s.width)]
        self.emit_kernel(
            row_index, s.cols, pc, kc,
            lambda r, v: self.insert(
                vector.LoadOp(c, [row_index[r], col_index[v]], self.vtype)
            ).results[0],
            lambda r, v, total: self.insert(vector.StoreOp(total, c, [row_index[r], col_index[v]])),
        )  # fmt: skip

    def emit_edge_kernel(
        self, rows: int, ir: SSAValue, je: SSAValue, valid: SSAValue, pc: SSAValue, kc: SSAValue
    ) -> None:
        """C[ir:ir+rows, je:je+valid] += A[ir:ir+rows, pc:pc+kc] . P, for a
        chunk of W columns of which the first `valid` are C's: the rows go
        through the stack tile T (W lanes a row, the lanes past `valid`
        zero), so the kernel reads and writes whole vectors and C is touched
        only where it exists."""
        s, c, tile = self.s, self.op.out, self.edge_tile
        assert tile is not None, "the edge kernel needs the tile of emit(vectorised=True)"
        row_index = [self.add(ir, self.const(r)) for r in range(rows)]
        width = self.const(s.width)

        def copy(into_tile: bool) -> None:
            # A loop over the rows, not one copy per row: the kernel is
            # emitted for every layout, and unrolled copies cost compile time.
            def row(r: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                i, base = self.add(ir, r), self.mul(r, width)

                def column(cc: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                    at_c, at_tile = [i, self.add(je, cc)], [self.add(base, cc)]
                    if into_tile:
                        self.store(self.load(c, at_c), tile, at_tile)
                    else:
                        self.store(self.load(tile, at_tile), c, at_c)
                    return []

                def padding(cc: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                    self.store(self.zero_f64(), tile, [self.add(base, cc)])
                    return []

                self.loop(self.const(0), valid, self.const(1), column)
                if into_tile:
                    self.loop(valid, width, self.const(1), padding)
                return []

            self.loop(self.const(0), self.const(rows), self.const(1), row)

        copy(into_tile=True)
        self.emit_kernel(
            row_index, s.width, pc, kc,
            lambda r, v: self.insert(
                vector.LoadOp(tile, [self.const(r * s.width)], self.vtype)
            ).results[0],
            lambda r, v, total: self.insert(vector.StoreOp(total, tile, [self.const(r * s.width)])),
        )  # fmt: skip
        copy(into_tile=False)

    def emit_kernel(
        self,
        row_index: Sequence[SSAValue],
        panel_cols: int,
        pc: SSAValue,
        kc: SSAValue,
        load_total: Callable[[int, int], SSAValue],
        store_total: Callable[[int, int, SSAValue], object],
    ) -> None:
        """The micro-kernel: the accumulators (row r, vector v of the
        panel's `panel_cols` columns) loaded with `load_total`, carried by
        the k loop, each k adding A[row, pc + k] times the packed row of B,
        stored back with `store_total`."""
        s = self.s
        rows, lanes = len(row_index), panel_cols // s.width
        totals = [load_total(r, v) for r in range(rows) for v in range(lanes)]

        def step(k: SSAValue, carried: Sequence[SSAValue]) -> Sequence[SSAValue]:
            base = self.mul(k, self.const(panel_cols))
            panel_rows = [
                self.insert(
                    vector.LoadOp(self.panel, [self.add(base, self.const(v * s.width))], self.vtype)
                ).results[0]
                for v in range(lanes)
            ]
            kk = self.add(pc, k)
            out: list[SSAValue] = []
            for r in range(rows):
                a = self.insert(
                    vector.BroadcastOp(self.a_at(row_index[r], kk), self.vtype)
                ).results[0]
                for v in range(lanes):
                    out.append(self.multiply_add(carried[r * lanes + v], a, panel_rows[v]))
            return out

        results = self.loop(self.const(0), kc, self.const(1), step, totals)
        for r in range(rows):
            for v in range(lanes):
                store_total(r, v, results[r * lanes + v])

    def emit_scalar(self, rows: SSAValue, inner: SSAValue, cols: SSAValue) -> None:
        """C[i, j] += A[i, k] * B[k, j] for every column, scalar, k in order
        (j innermost: LLVM vectorises it when the trip counts are known)."""
        c = self.op.out

        def row(i: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
            def k_step(k: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                a = self.a_at(i, k)

                def column(j: SSAValue, _: Sequence[SSAValue]) -> Sequence[SSAValue]:
                    total = self.multiply_add(self.load(c, [i, j]), a, self.b_at(k, j))
                    self.store(total, c, [i, j])
                    return []

                self.loop(self.const(0), cols, self.const(1), column)
                return []

            self.loop(self.const(0), inner, self.const(1), k_step)
            return []

        self.loop(self.const(0), rows, self.const(1), row)


_DYNAMIC_MATRIX = MemRefType(f64, [DYNAMIC_INDEX, DYNAMIC_INDEX])


class LowerMatmul(RewritePattern):
    """A small matmul of static shape to scalar loops in place; any other
    to a call of the module's matmul function for its operand layout."""

    def __init__(self, shape: KernelShape, inline_below: int):
        self.shape = shape
        self.inline_below = inline_below
        self.functions: dict[str, func.FuncOp] = {}

    def is_small(self, op: MatmulOp) -> bool:
        (m, k), _, (_, n) = op.logical_shapes()
        return -1 not in (m, k, n) and m * k * n < self.inline_below

    def function_for(self, op: MatmulOp) -> func.FuncOp:
        """`@__noma_matmul_<layout>(A, B, C)` on dynamic shapes, built once
        per module and operand layout: one copy of the tiled loops however
        many matmuls call it (compile time), the packing buffer on its stack."""
        layout = ("t" if op.transpose_a else "n") + ("t" if op.transpose_b else "n")
        if layout in self.functions:
            return self.functions[layout]
        module = op.get_toplevel_object()
        assert isinstance(module, ModuleOp)
        body = Block(arg_types=[_DYNAMIC_MATRIX] * 3)
        a, b, c = body.args
        inner = MatmulOp(a, b, c, op.transpose_a is not None, op.transpose_b is not None)
        inner.location = op.location
        body.add_ops([inner, func.ReturnOp()])
        size = self.shape.tile_k * self.shape.cols
        panel = memref.AllocaOp.get(f64, alignment=64, shape=[size])
        edge_tile = memref.AllocaOp.get(
            f64, alignment=64, shape=[self.shape.edge_rows * self.shape.width]
        )
        body.insert_op_before(panel, inner)
        body.insert_op_before(edge_tile, inner)
        _Emitter(inner, self.shape, panel.results[0], edge_tile.results[0]).emit(vectorised=True)
        inner.detach()
        inner.erase()
        function = func.FuncOp(
            f"__noma_matmul_{layout}",
            ([_DYNAMIC_MATRIX] * 3, []),
            Region(body),
            visibility="private",
        )
        module.body.block.add_op(function)
        self.functions[layout] = function
        return function

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MatmulOp, rewriter: PatternRewriter) -> None:
        if self.is_small(op):
            _Emitter(op, self.shape, op.out).emit(vectorised=False)
            rewriter.erase(op)
            return
        function = self.function_for(op)
        operands = []
        for value in (op.lhs, op.rhs, op.out):
            if value.type != _DYNAMIC_MATRIX:
                cast = memref.CastOp.get(value, _DYNAMIC_MATRIX)
                rewriter.insert(cast, InsertPoint.before(op))
                value = cast.results[0]
            operands.append(value)
        rewriter.replace(op, func.CallOp(function.sym_name.data, operands, []))


def parse_register_block(text: str, width: int) -> tuple[int, int]:
    if text == "auto":
        return _BLOCK_FOR_WIDTH.get(width, (4, 2 * width))
    try:
        rows, cols = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ValueError(
            f"register-block must be MRxNR (e.g. 4x32) or auto, got {text!r}"
        ) from None
    if rows < 1 or cols < width or cols % width:
        raise ValueError(
            f"register-block {text}: NR must be a positive multiple of the vector width {width}"
        )
    return rows, cols


@dataclass(frozen=True)
class LowerMatmulPass(ModulePass):
    """`noma_linalg.matmul` -> tiled loops with a vectorised micro-kernel."""

    name = "noma-lower-matmul"

    tile_m: int = 192
    tile_k: int = 128
    register_block: str = "auto"
    vector_width: int | str = "auto"
    fma: bool = False
    inline_below: int = 32768

    def kernel_shape(self) -> KernelShape:
        width = host_vector_width() if self.vector_width == "auto" else self.vector_width
        if not isinstance(width, int) or width < 1 or width & (width - 1):
            raise ValueError(
                f"vector-width must be a power of two or auto, got {self.vector_width!r}"
            )
        rows, cols = parse_register_block(self.register_block, width)
        if self.tile_k < 1 or self.tile_m < 1:
            raise ValueError("tile-m and tile-k must be positive")
        tile_m = max(rows, self.tile_m - self.tile_m % rows)  # whole MR blocks per tile
        return KernelShape(tile_m, self.tile_k, rows, cols, width, self.fma)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not any(isinstance(inner, MatmulOp) for inner in op.walk()):
            return  # nothing to do: do not ask LLVM (llvmlite) for the host's width
        shape = self.kernel_shape()
        pattern = LowerMatmul(shape, self.inline_below)
        PatternRewriteWalker(pattern, apply_recursively=False).rewrite_module(op)
