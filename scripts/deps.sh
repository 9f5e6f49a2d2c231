#!/usr/bin/env bash
# Installs what the tests need beyond Go modules. Idempotent; safe to run on every `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every module of the build list, not only those the main module's packages build with: the buildpack
# test (infra/terraform) runs `go mod tidy` offline, as the Go buildpack's copy of the function
# source, and tidy also resolves the imports of dependencies' own tests. Through a copy of go.mod
# (-modfile), so that the repository's go.sum keeps only what tidy keeps.
modtmp=$(mktemp -d)
cp go.mod "$modtmp/go.mod"
cp go.sum "$modtmp/go.sum"
go mod download -modfile="$modtmp/go.mod" all
rm -rf "$modtmp"

# libjpeg-turbo's cjpeg/djpeg: the JPEG decoder tests (internal/inference/jpegdec) encode every
# sampling/coding layout with cjpeg and compare against djpeg's pixels at test time.
if ! command -v cjpeg >/dev/null 2>&1 || ! command -v djpeg >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends libjpeg-turbo-progs >/dev/null
  else
    echo "deps: cjpeg/djpeg not found; install libjpeg-turbo-progs (the jpegdec tests need them)" >&2
  fi
fi

# Test-only inference oracles (ONNX Runtime, TFLite wasm) for internal/inference/tflite.
# onnxruntime-node's tarball ships the native library, so its download step is skipped.
# Reinstalled only when tools/oracle/package-lock.json changed since the last install.
# Test-only Google Node.js clients (@google-cloud/storage, @google-cloud/pubsub) for e2e/clients.
if command -v npm >/dev/null 2>&1; then
  for dir in tools/oracle tools/clients; do
    lock_sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    stamp=$dir/node_modules/.cspipe-lock-sha256
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
      (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund)
      echo "$lock_sum" > "$stamp"
    fi
  done
else
  echo "deps: npm not found; the inference oracle tests (internal/inference/tflite) and the Node client tests (e2e/clients) will fail until Node.js 20 and npm are installed" >&2
fi

# terraform (for `terraform validate` in scripts/test.sh) comes from HashiCorp's release site or apt
# repository, neither of which is reachable from every CI machine; Debian does not package it. Where
# it is missing, scripts/test.sh says so loudly and the Go HCL tests in infra/terraform still run.
if ! command -v terraform >/dev/null 2>&1; then
  echo "deps: terraform not found and not installable from Debian's archive; install terraform >= 1.5 for 'terraform validate'" >&2
fi
