"""Quoting for SQL written in lakemend's canonical dialect (see ``lakemend.engines.base``)."""

from __future__ import annotations


def q(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """Quote a string literal."""
    return "'" + value.replace("'", "''") + "'"


def transpile(sql: str, read: str, write: str) -> str:
    """One statement from dialect ``read`` into ``write`` (unchanged when they are the same)."""
    if read == write:
        return sql
    import sqlglot

    return sqlglot.transpile(sql, read=read, write=write)[0]
