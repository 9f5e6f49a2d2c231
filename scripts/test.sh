#!/usr/bin/env bash
# The whole test suite: formatting, vet, then every package's tests under the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
if command -v terraform >/dev/null; then
  bash scripts/terraform-validate.sh
else
  echo "###############################################################################" >&2
  echo "## terraform is not installed: 'terraform fmt -check' and 'terraform validate' ##" >&2
  echo "## of infra/terraform/{primus,secundus} were NOT run (scripts/deps.sh cannot    ##" >&2
  echo "## install it here; the Go HCL tests in infra/terraform still run).            ##" >&2
  echo "###############################################################################" >&2
fi
go test -race -timeout "${TEST_TIMEOUT:-15m}" ./...
