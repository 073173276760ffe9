"""Engines that run lakemend's SQL; the interface is in :mod:`lakemend.engines.base`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from lakemend.errors import ConfigError

if TYPE_CHECKING:
    from lakemend.engines.base import Engine

ENGINES = {"duckdb": "lakemend.engines.duckdb:DuckDBEngine"}


def open_engine(name: str) -> Engine:
    """The engine called ``name`` in lakemend.yaml (imported only when first used)."""
    try:
        module, _, attribute = ENGINES[name].partition(":")
    except KeyError:
        raise ConfigError(f"engine {name!r} is not available", f"use one of: {', '.join(ENGINES)}") from None
    return getattr(importlib.import_module(module), attribute)()
