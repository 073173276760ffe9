"""lakemend: safe backfill and recovery for a medallion data lake on Apache Iceberg."""

__version__ = "0.1.0"
