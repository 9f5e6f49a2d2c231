#!/usr/bin/env bash
# Installs what the tests need beyond Go modules. Idempotent; safe to run on every `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download
