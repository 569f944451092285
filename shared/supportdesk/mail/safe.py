"""Calls that must not raise: the stdlib's email accessors do, on broken mail."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def attempt(call: Callable[[], _T], fallback: _T) -> _T:
    """call(), or `fallback` if it raises."""
    try:
        return call()
    except Exception:
        return fallback
