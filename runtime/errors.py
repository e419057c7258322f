"""Error types shared by the compiler and the runtime.

Every error a user can cause is an ``AxcError`` whose message is one line naming what was wrong
(the model node, the IR location, the configuration key, the file). The tools print
``<tool>: error: <message>`` and exit with status 1; they never show a traceback for these.
"""


class AxcError(Exception):
    """Base of every user-facing error of axc."""


class ModelError(AxcError):
    """The ONNX model cannot be read or imported (missing file, not ONNX, unsupported ops, ...)."""


class InputDataError(AxcError):
    """An .npz of inputs or calibration frames is unusable (missing key, wrong shape or dtype)."""


class CompileError(AxcError):
    """Compilation failed (the model does not fit memory, a pass failed, ...)."""


class PackageError(AxcError):
    """A compiled package is missing, incomplete or damaged."""
