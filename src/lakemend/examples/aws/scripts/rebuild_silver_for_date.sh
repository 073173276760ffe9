#!/usr/bin/env bash
# Runbook: Silver Layer Rebuild.   usage: rebuild_silver_for_date.sh --table <t> --date <d> [--dry-run] [lakemend flags]
# Thin wrapper over `lakemend rebuild silver`; every flag passes through.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_lakemend.sh"
exec "$LAKEMEND_BIN" rebuild silver "$@"
