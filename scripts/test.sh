#!/usr/bin/env bash
# The whole test suite: formatting, vet, then every package's tests: under the race detector, except
# the concurrency-free packages of scripts/norace-packages.txt (internal/purity checks the list).
#
# Build configuration: vet and the race-free tests use the workload image's (internal/imagebuild:
# CGO_ENABLED=0, -trimpath, -buildvcs=false; `make run` too), so the packages vet compiles are the
# ones every workload build in the tests (e2e, cmd/cspipe, imagebuild, workload) and the buildpack
# test in infra/terraform reuse from the build cache instead of compiling them again.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
build_flags=(-trimpath -buildvcs=false)
CGO_ENABLED=0 go vet "${build_flags[@]}" ./...
if command -v terraform >/dev/null; then
  bash scripts/terraform-validate.sh
else
  echo "###############################################################################" >&2
  echo "## terraform is not installed: 'terraform fmt -check' and 'terraform validate' ##" >&2
  echo "## of infra/terraform/{primus,secundus} were NOT run (scripts/deps.sh cannot    ##" >&2
  echo "## install it here; the Go HCL tests in infra/terraform still run).            ##" >&2
  echo "###############################################################################" >&2
fi
mod=$(go list -m)
norace=()
while read -r dir; do
  case "$dir" in ''|'#'*) continue ;; esac
  norace+=("$mod/${dir#./}")
done < scripts/norace-packages.txt
race=()
while read -r pkg; do
  [[ " ${norace[*]} " == *" $pkg "* ]] || race+=("$pkg")
done < <(go list ./...)
rc=0
CGO_ENABLED=0 go test "${build_flags[@]}" -timeout "${TEST_TIMEOUT:-15m}" "${norace[@]}" || rc=1
go test -race -timeout "${TEST_TIMEOUT:-15m}" "${race[@]}" || rc=1
# The engine again with its kernels capped below what the CPU offers (CSPIPE_KERNELS): the AVX2
# path and the portable one, each through the model tests and the oracles, so a kernel path this
# machine would not pick by itself is still held to the same results. -count=1: the variable is read
# at package start-up, which go test's cache does not see, so a cached result could stand for
# another path's.
engine=(./internal/inference/kernels ./internal/inference/graph ./internal/inference/tflite ./internal/inference/onnx)
for path in avx2 generic; do
  CSPIPE_KERNELS=$path CGO_ENABLED=0 go test "${build_flags[@]}" -count=1 -timeout "${TEST_TIMEOUT:-15m}" "${engine[@]}" || rc=1
done
exit "$rc"
