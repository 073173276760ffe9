"""Rewrite one benchmark's marked section of docs/benchmarks.md, leaving the others alone."""

from __future__ import annotations

from pathlib import Path


def write_section(docs: Path, start_mark: str, end_mark: str, text: str, intro: str = "# Benchmarks\n") -> None:
    """Replace the text between the markers (``text`` includes them); append it the first time."""
    current = docs.read_text() if docs.exists() else intro
    if start_mark in current and end_mark in current:
        head, rest = current.split(start_mark, 1)
        updated = head + text + rest.split(end_mark, 1)[1]
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(updated)
    print(f"\nWrote {docs}")
