"""Makes the shared test helpers in tests/support importable: pytest's
`--import-mode=importlib` does not put test folders on sys.path."""

import sys
from pathlib import Path

_SUPPORT = str(Path(__file__).resolve().parent / "support")
if _SUPPORT not in sys.path:
    sys.path.insert(0, _SUPPORT)
