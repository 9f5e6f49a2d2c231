#!/usr/bin/env bash
# Benchmarks; the numbers quoted in issue notes come from here.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchmem ./...
