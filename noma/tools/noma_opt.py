"""`noma-opt`: NOMA's modular optimizer driver, `mlir-opt` style.

    noma-opt prog.noma                      frontend output (noma dialect)
    noma-opt prog.noma -p noma-to-llvm      down to the llvm dialect
    noma-opt in.mlir -p autodiff,canonicalize --print-between-passes -o out.mlir

Input is a `.noma` program (the frontend runs first) or MLIR in any of the
dialects NOMA uses. Built on xDSL's `xDSLOptMain`, so every xdsl-opt option
(`--verify-diagnostics`, `--split-input-file`, `--print-op-generic`, ...)
works the same way.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from xdsl.dialects.builtin import ModuleOp
from xdsl.xdsl_opt_main import xDSLOptMain

from noma import pipeline
from noma.tools.errors import fail, reported_errors

if TYPE_CHECKING:
    import argparse

    from xdsl.passes import ModulePass


class NomaOptMain(xDSLOptMain):
    version_format = "noma-opt (xDSL {xdsl_version})"

    def register_all_dialects(self) -> None:
        # Registered, not loaded: a dialect is imported when first parsed.
        for name, factory in pipeline.dialects().items():
            self.ctx.register_dialect(name, factory)

    def register_all_passes(self) -> None:
        for name, factory in pipeline.all_passes().items():
            self.register_pass(name, factory)

    def register_all_targets(self) -> None:
        # xDSL's own targets, without xDSL's scan of every installed package
        # for plugins (importlib.metadata), which NOMA's driver does not use.
        from xdsl.targets import get_all_targets

        self.available_targets.update(get_all_targets())

    def register_all_frontends(self) -> None:
        super().register_all_frontends()

        def parse_noma(io: IO[bytes]) -> ModuleOp:
            from noma.frontend import compile_to_ir
            from noma.frontend.source import decode_source

            name = self.get_input_name()
            return compile_to_ir(decode_source(io.read(), name), name)

        self.available_frontends["noma"] = parse_noma

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        if self.args.input_file is not None:
            from noma.frontend.source import check_source_file

            # Before xDSL opens and reads it: a device or FIFO is refused
            # unread, a huge file is not read whole.
            check_source_file(self.args.input_file)
        return super().get_input_stream()

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--verify-each",
            default=False,
            action="store_true",
            help="Verify the IR after every pass (default: NOMA_VERIFY_EACH=1 in the "
            "environment); otherwise only the input and the final output are verified",
        )

    def setup_pipeline(self) -> None:
        self.args.passes = pipeline.expand_aliases(self.args.passes)
        super().setup_pipeline()
        xdsl_callback = self.pipeline.callback
        assert xdsl_callback is not None
        verify_each = self.args.verify_each or pipeline.verify_each_requested()

        def callback(
            previous: ModulePass | None, module: ModuleOp, next_pass: ModulePass | None
        ) -> None:
            # xDSL verifies the input (diagnostics for bad input); after a
            # pass, invalid IR is a compiler bug, reported naming the pass.
            verify_now = verify_each or next_pass is None
            if previous is not None and verify_now and not self.args.disable_verify:
                _verify_after(module, previous.name)
            disable_verify = self.args.disable_verify
            self.args.disable_verify = disable_verify or previous is not None
            try:
                xdsl_callback(previous, module, next_pass)
            finally:
                self.args.disable_verify = disable_verify

        self.pipeline = dataclasses.replace(self.pipeline, callback=callback)


def _verify_after(module: ModuleOp, pass_name: str) -> None:
    """Verify `module`; on failure, report it as NOMA's verifier does (naming
    the pass, at the failing op), which is only imported then: a run that
    verifies cleanly does not load the frontend."""
    try:
        module.verify()
    except Exception:
        from noma.frontend.verify import verify_after_pass

        verify_after_pass(module, pass_name)
        raise


def main(argv: Sequence[str] | None = None) -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    with reported_errors("noma-opt"):
        try:
            NomaOptMain(
                description="NOMA modular optimizer driver: runs passes over .noma or .mlir input",
                args=argv,
            ).run()
        except ValueError as e:
            # xDSL reports unknown passes and file types as ValueError.
            fail(f"noma-opt: error: {e}")


if __name__ == "__main__":
    main()
