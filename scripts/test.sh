#!/usr/bin/env bash
# The whole test suite: formatting, vet, then every package's tests under the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go test -race -timeout "${TEST_TIMEOUT:-15m}" ./...
