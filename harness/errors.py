"""User-facing errors (defined in iph/errors.py, the bottom layer, so that imports point one way)."""

from iph.errors import HarnessError, InputError, UnknownNameError

__all__ = ["HarnessError", "InputError", "UnknownNameError"]
