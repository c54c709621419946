"""Validation of integer arguments, one family for theory/, model/ and checks/.

Every function takes the argument's name first, then its value, and returns the value as a plain
``int``. A value that is not an integer (a float such as 2.0, or a bool) is a type mistake and
raises ``type_error``; an integer below the bound raises ``error``. Callers pass their own error
classes (``NegativeDegreeError``, ``ModelInputError``, hypothesis' ``InvalidArgument``), so the
error names the layer's assumption while the test and the message are the same everywhere:
"``name`` must be a positive integer, got 0".
"""
from __future__ import annotations

import numbers

__all__ = ["integer_at_least", "positive_integer", "nonnegative_integer"]


def _is_integer(value) -> bool:
    # numbers.Integral covers int, numpy integers (registered) and sympy.Integer; bool is an
    # int subclass but never a size or a degree.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer_at_least(name: str, value, minimum: int, *, error: type[Exception] = ValueError,
                     type_error: type[Exception] = TypeError, why: str = "") -> int:
    """``value`` as an int, if it is an integer >= ``minimum``; ``why`` is appended to the message."""
    if minimum == 1:
        wanted = "a positive integer"
    elif minimum == 0:
        wanted = "a non-negative integer"
    else:
        wanted = f"an integer >= {minimum}"
    suffix = f" ({why})" if why else ""
    if not _is_integer(value):
        raise type_error(f"{name} must be {wanted}, got {value!r} of type {type(value).__name__}{suffix}")
    if value < minimum:
        raise error(f"{name} must be {wanted}, got {value!r}{suffix}")
    return int(value)


def positive_integer(name: str, value, *, error: type[Exception] = ValueError,
                     type_error: type[Exception] = TypeError, why: str = "") -> int:
    """``value`` as an int >= 1 (a size, a width, a feature degree)."""
    return integer_at_least(name, value, 1, error=error, type_error=type_error, why=why)


def nonnegative_integer(name: str, value, *, error: type[Exception] = ValueError,
                        type_error: type[Exception] = TypeError, why: str = "") -> int:
    """``value`` as an int >= 0 (a Hermite degree, a projection order, a power)."""
    return integer_at_least(name, value, 0, error=error, type_error=type_error, why=why)
