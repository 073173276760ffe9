"""Engines that run model SQL: DuckDB (embedded default)."""
