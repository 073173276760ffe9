#!/usr/bin/env bash
# Shared by the runbook scripts: find the project and the lakemend CLI, then run it.
# The project is $LAKEMEND_PROJECT, else the current directory (or a parent) holding lakemend.yaml.
set -euo pipefail
if [[ -z "${LAKEMEND_PROJECT:-}" ]]; then
  dir="$PWD"
  while [[ "$dir" != "/" && ! -f "$dir/lakemend.yaml" ]]; do dir="$(dirname "$dir")"; done
  if [[ ! -f "$dir/lakemend.yaml" ]]; then
    echo "Error: no lakemend.yaml in $PWD or its parents — cd into the project or set LAKEMEND_PROJECT" >&2
    exit 2
  fi
  export LAKEMEND_PROJECT="$dir"
fi
LAKEMEND_BIN="${LAKEMEND_BIN:-lakemend}"
if ! command -v "$LAKEMEND_BIN" >/dev/null 2>&1; then
  echo "Error: the lakemend CLI is not on PATH — activate its virtualenv or set LAKEMEND_BIN" >&2
  exit 2
fi
