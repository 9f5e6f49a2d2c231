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
  # The project's own (empty) CLI config: the machine's preset points at a file that is not there.
  TF_CLI_CONFIG_FILE="$PWD/infra/terraform/terraform.rc" terraform fmt -check -recursive infra/terraform
else
  echo "terraform not installed: 'terraform fmt -check' skipped (the Go HCL tests still check formatting)"
fi
go test -race -timeout "${TEST_TIMEOUT:-15m}" ./...
