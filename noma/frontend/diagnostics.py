"""The frontend's diagnostics are NOMA's one diagnostics type, defined in
`noma.diagnostics`; re-exported for the modules that import it from here."""

from noma.diagnostics import NomaError, SourceLoc, op_loc

__all__ = ["NomaError", "SourceLoc", "op_loc"]
