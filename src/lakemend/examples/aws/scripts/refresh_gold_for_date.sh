#!/usr/bin/env bash
# Runbook: Gold Layer Refresh.   usage: refresh_gold_for_date.sh --table <t> --date <d> [--dry-run] [lakemend flags]
# Thin wrapper over `lakemend refresh gold`; every flag passes through.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_lakemend.sh"
exec "$LAKEMEND_BIN" refresh gold "$@"
