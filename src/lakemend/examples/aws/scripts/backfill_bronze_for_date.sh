#!/usr/bin/env bash
# Runbook: Bronze Layer Backfill.   usage: backfill_bronze_for_date.sh <source|all> <date> [lakemend flags]
# Thin wrapper over `lakemend backfill bronze`; extra flags (--dry-run, --downstream, --reason ...) pass through.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_lakemend.sh"
if [[ $# -lt 2 ]]; then
  echo "usage: $0 <source|all> <YYYY-MM-DD> [--dry-run] [--downstream] [--reason TEXT] ..." >&2
  exit 2
fi
source_name="$1"; day="$2"; shift 2
exec "$LAKEMEND_BIN" backfill bronze "$source_name" "$day" "$@"
