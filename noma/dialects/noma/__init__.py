"""The `noma` dialect: NOMA's high-level IR.

Values are builtin `f64` and `tensor<...xf64>`; the dialect adds parameter and
buffer handles, the training loop as a region op, elementwise arithmetic with
derivative rules, printing and the autodiff tape.
"""

from xdsl.ir import Dialect

from noma.dialects.noma.creation import CREATION_OPS
from noma.dialects.noma.elementwise import *  # noqa: F403
from noma.dialects.noma.elementwise import BINARY_OPS, UNARY_OPS
from noma.dialects.noma.epochs import EPOCH_OPS
from noma.dialects.noma.files import FILE_OPS
from noma.dialects.noma.io import (
    AssertOp,
    PrintOp,
    PrintStringOp,
    ProgressBeginOp,
    ProgressEndOp,
    ProgressStepOp,
    WarningOp,
)
from noma.dialects.noma.reductions import REDUCTION_OPS
from noma.dialects.noma.shape_ops import SHAPE_OPS
from noma.dialects.noma.slicing import SLICING_OPS
from noma.dialects.noma.storage import (
    AllocOp,
    CheckAliveOp,
    FreeOp,
    LearnOp,
    ReadOp,
    ReallocOp,
    ResetOptimizerOp,
    StateReadOp,
    StateWriteOp,
    WriteOp,
)
from noma.dialects.noma.tape import TapeFreeOp, TapeNewOp, TapePopOp, TapePushOp
from noma.dialects.noma.tensor_ops import TENSOR_OPS
from noma.dialects.noma.training import MinimizeOp, OptimizeOp, UntilOp
from noma.dialects.noma.types import BufferType, ParamType, TapeType

Noma = Dialect(
    "noma",
    [
        *BINARY_OPS,
        *UNARY_OPS,
        *TENSOR_OPS,
        *CREATION_OPS,
        *SLICING_OPS,
        *REDUCTION_OPS,
        *SHAPE_OPS,
        *EPOCH_OPS,
        *FILE_OPS,
        LearnOp,
        ReadOp,
        WriteOp,
        StateReadOp,
        StateWriteOp,
        ResetOptimizerOp,
        AllocOp,
        ReallocOp,
        CheckAliveOp,
        FreeOp,
        OptimizeOp,
        MinimizeOp,
        UntilOp,
        PrintOp,
        PrintStringOp,
        WarningOp,
        AssertOp,
        ProgressBeginOp,
        ProgressStepOp,
        ProgressEndOp,
        TapeNewOp,
        TapePushOp,
        TapePopOp,
        TapeFreeOp,
    ],
    [ParamType, BufferType, TapeType],
)
