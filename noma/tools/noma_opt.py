"""`noma-opt`: NOMA's modular optimizer driver, `mlir-opt` style.

    noma-opt prog.noma                      frontend output (noma dialect)
    noma-opt prog.noma -p noma-to-llvm      down to the llvm dialect
    noma-opt in.mlir -p autodiff,canonicalize --print-between-passes -o out.mlir
    noma-opt - < in.mlir                    read stdin

Input is a `.noma` program (the frontend runs first) or MLIR in any of the
dialects NOMA or xDSL defines; every NOMA and xDSL pass can run. Built on
xDSL's `xDSLOptMain`, so xdsl-opt's options work the same way; NOMA's driver
differs where MLIR's does: every diagnostic is located (`file:line:col:
error: ...`, at the op's `loc(...)` or where the op is in the input),
`--verify-diagnostics` matches `expected-error {{...}}` annotations,
`--split-input-file` reports every chunk, `-o` is written atomically.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from io import BytesIO
from typing import IO, TYPE_CHECKING, NoReturn

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from noma import pipeline
from noma.diagnostics import NomaError, SourceLoc
from noma.tools.errors import fail, reported_errors
from noma.tools.expected_diagnostics import Diagnostic, check, parse_expectations
from noma.tools.opt_input import LocatingParser, Position, input_position

if TYPE_CHECKING:
    from xdsl.ir import Operation
    from xdsl.passes import ModulePass

STDIN_NAME = "<stdin>"

TARGETS = ("mlir", "llvm")
"""The output formats that work on NOMA's IR: MLIR text at any stage, LLVM
IR once lowered to the llvm dialect. xDSL's other targets (assembly for
its own riscv/x86/arm dialects, csl, wasm, ...) need IR NOMA never has."""


class NomaOptMain(xDSLOptMain):
    version_format = "noma-opt (xDSL {xdsl_version})"

    def __init__(self, description: str, args: Sequence[str] | None) -> None:
        self.positions: dict[Operation, Position] = {}
        """Where each op of the MLIR chunk being compiled was in the input."""
        self.first_line = 1
        super().__init__(description=description, args=args)

    def register_all_dialects(self) -> None:
        # Registered, not loaded: a dialect is imported when first parsed.
        # NOMA's list first (it names NOMA's dialect modules), then every
        # other dialect xDSL defines.
        from xdsl.dialects import get_all_dialects

        for name, factory in {**get_all_dialects(), **pipeline.dialects()}.items():
            self.ctx.register_dialect(name, factory)

    def register_all_passes(self) -> None:
        # NOMA's registry wins on a shared name (it lists xDSL's passes that
        # NOMA uses under their own names).
        from xdsl.transforms import get_all_passes

        for name, factory in {**get_all_passes(), **pipeline.all_passes()}.items():
            self.register_pass(name, factory)

    def register_all_targets(self) -> None:
        from xdsl.targets import get_all_targets

        from noma.tools.llvm_target import load_llvm_target

        self.available_targets.update(
            {name: factory for name, factory in get_all_targets().items() if name in TARGETS}
        )
        self.available_targets["llvm"] = load_llvm_target

    def register_all_frontends(self) -> None:
        def parse_mlir(io: IO[bytes]) -> ModuleOp:
            parser = LocatingParser(
                self.ctx,
                io.read().decode(),
                self.get_input_name(),
                self.positions,
                self.first_line,
            )
            return parser.parse_module(not self.args.no_implicit_module)

        def parse_noma(io: IO[bytes]) -> ModuleOp:
            from noma.frontend import compile_to_ir
            from noma.frontend.source import decode_source

            name = self.get_input_name()
            return compile_to_ir(decode_source(io.read(), name), name)

        self.available_frontends["mlir"] = parse_mlir
        self.available_frontends["noma"] = parse_noma

    def get_input_name(self) -> str:
        name = self.args.input_file
        return STDIN_NAME if name in (None, "-") else name

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        if self.args.input_file in (None, "-"):
            return sys.stdin.buffer, self.args.frontend or "mlir"
        from noma.frontend.source import check_source_file

        # Before xDSL opens and reads it: a device or FIFO is refused
        # unread, a huge file is not read whole.
        check_source_file(self.args.input_file)
        return super().get_input_stream()

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.prog = "noma-opt"

        def one_line_usage_error(message: str) -> NoReturn:
            # Like every other error: one line, exit status 1.
            fail(f"noma-opt: error: {message} (see --help)")

        arg_parser.error = one_line_usage_error  # type: ignore[method-assign]
        arg_parser.add_argument(
            "--verify-each",
            default=False,
            action="store_true",
            help="Verify the IR after every pass (default: NOMA_VERIFY_EACH=1 in the "
            "environment); otherwise only the input and the final output are verified",
        )
        # Only the targets that work on NOMA's IR are offered.
        for action in arg_parser._actions:
            if "--target" in action.option_strings:
                action.help = (
                    f"Output format: {', '.join(TARGETS)} (LLVM IR; needs llvm dialect input)"
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

    def run(self) -> None:
        """Every chunk is compiled (and, with --verify-diagnostics, checked)
        even after one fails; the output is written only when all succeed."""
        chunks, file_extension = self.prepare_input()
        name = self.get_input_name()
        outputs: list[str] = []
        problems: list[str] = []
        for chunk, offset in chunks:
            text = chunk.read()
            chunk.close()
            self.positions = {}
            self.first_line = offset + 1
            module: ModuleOp | None = None
            emitted: list[Diagnostic] = []
            rendered: list[str] = []
            try:
                module = self.parse_chunk(BytesIO(text), file_extension, offset)
                if module is not None:
                    self.apply_passes(module)
                    outputs.append(self.output_resulting_program(module))
            except ParseError as e:
                emitted.append(self._parse_diagnostic(e, offset))
                rendered.append(self._render_parse_error(e, offset))
            except DiagnosticException as e:
                error = self._as_noma_error(e, module)
                emitted.append(self._diagnostic(error, name))
                rendered.append(self._render(error, name))
            if self.args.verify_diagnostics:
                # Expected diagnostics are silent; only mismatches are reported.
                expectations = parse_expectations(text.decode(errors="replace"), offset + 1)
                problems.extend(check(name, expectations, emitted))
            else:
                problems.extend(rendered)
        if problems:
            fail("\n".join(problems))
        self._write_output("// -----\n".join(outputs))

    def _write_output(self, text: str) -> None:
        if self.args.output_file is None:
            _write_all_to_stdout(text)
        else:
            from noma import atomic

            atomic.write_text(self.args.output_file, text)

    def _as_noma_error(self, e: DiagnosticException, module: ModuleOp | None) -> NomaError:
        """`e` as a NomaError about an op: a verifier error of the input is
        about the innermost op that does not verify."""
        if isinstance(e, NomaError):
            return e
        reason = _first_line(str(e))
        if module is not None:
            from noma.frontend.verify import failing_op

            op = failing_op(module)
            if op is not None:
                # Name the op, as MLIR does, unless the verifier did.
                named = reason if f"'{op.name}'" in reason else f"'{op.name}' op {reason}"
                return NomaError(None, named, op=op)
        return NomaError(None, reason)

    def _position(self, error: NomaError, name: str) -> Position | None:
        """Where `error` is in the input: its op's place in it, else its
        location if that is in the input file."""
        if error.op is not None:
            position = input_position(error.op, self.positions)
            if position is not None:
                return position
        if error.loc is not None and error.loc.filename == name:
            return Position(error.loc.line, error.loc.col)
        return None

    def _diagnostic(self, error: NomaError, name: str) -> Diagnostic:
        position = self._position(error, name)
        severity = error.severity if error.severity in ("warning", "note", "remark") else "error"
        if position is None:
            return Diagnostic(severity, error.message, None)
        return Diagnostic(severity, error.message, position.line, position.col)

    def _render(self, error: NomaError, name: str) -> str:
        """`file:line:col: error: message` and the source line, at the
        error's own location, else where its op is in the input; else the
        op printed, as MLIR does."""
        if error.loc is not None:
            return error.render()
        position = self._position(error, name)
        if position is not None:
            located = NomaError(SourceLoc(name, *position), error.message, error.severity)
            return located.render(None if name == STDIN_NAME else _read_text(name))
        text = f"{name}: {error.severity}: {error.message}"
        if error.op is not None:
            text += f"\n{name}: note: see current operation:\n{_generic_text(error.op)}"
        return text

    def _parse_diagnostic(self, e: ParseError, offset: int) -> Diagnostic:
        location = e.span.get_location()
        return Diagnostic("error", e.msg, location.line + offset, location.col)

    def _render_parse_error(self, e: ParseError, offset: int) -> str:
        e.span = dataclasses.replace(e.span, line_offset=offset)
        location = e.span.get_location()
        context = str(e).split("\n")[1:3]  # the source line and the carets
        return "\n".join(
            [f"{location.file}:{location.line}:{location.col}: error: {e.msg}", *context]
        )


def _write_all_to_stdout(text: str) -> None:
    """All of `text` on stdout, or BrokenPipeError. An unbuffered stdout
    (PYTHONUNBUFFERED) is a raw file whose `write` may take only part of
    the data, and the text layer drops the rest silently: loop until done."""
    sys.stdout.flush()
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text stream that is not a file (a test's StringIO)
        sys.stdout.write(text)
        return
    data = memoryview(text.encode())
    while data:
        written = out.write(data)
        data = data[written if written is not None else 0 :]
    out.flush()


def _first_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _generic_text(op: Operation) -> str:
    from io import StringIO

    from xdsl.printer import Printer

    out = StringIO()
    Printer(stream=out, print_generic_format=True).print_op(op)
    return out.getvalue()


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
    from xdsl.utils.exceptions import ArgSpecParseError

    with reported_errors("noma-opt"):
        try:
            NomaOptMain(
                description="NOMA modular optimizer driver: runs passes over .noma or .mlir input",
                args=argv,
            ).run()
        except ArgSpecParseError as e:
            # xDSL's message: a title, the position, the spec, a caret, the reason.
            lines = str(e).strip().splitlines()
            where = lines[1].rsplit(":", 1)[-1] if len(lines) > 1 else "?"
            fail(
                f"noma-opt: error: malformed pass pipeline '{lines[2] if len(lines) > 2 else ''}' "
                f"at column {where}: {lines[-1].strip()}"
            )
        except ValueError as e:
            # xDSL reports unknown passes, options and file types as ValueError.
            fail(f"noma-opt: error: {_first_line(str(e))}")
        except BrokenPipeError:
            _quiet_exit_on_broken_pipe()


def _quiet_exit_on_broken_pipe() -> None:
    """The reader went away (`noma-opt ... | head -1`): stop without a
    word, and without Python's complaint when it flushes stdout at exit."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    sys.exit(1)


if __name__ == "__main__":
    main()
