#!/usr/bin/env bash
# `terraform fmt -check`, then `terraform init -backend=false` and `terraform validate` of both
# roots. Providers come from ../shared/terraform-mirror (a filesystem mirror next to the
# repository, present in CI) when it exists, from the registry otherwise. Everything Terraform
# writes goes to a temporary directory, so the tree stays clean; no lock file is kept (one made
# from the mirror would carry hashes the registry's builds do not match).
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
made_locks=()
cleanup() {
  rm -rf "$tmp"
  # `terraform init` writes the lock file next to the .tf files; drop the ones it made here.
  for f in "${made_locks[@]}"; do rm -f "$f"; done
}
trap cleanup EXIT
export CHECKPOINT_DISABLE=1
export TF_CLI_CONFIG_FILE="$tmp/terraform.rc"
export TF_IN_AUTOMATION=1
mirror=../shared/terraform-mirror
if [ -d "$mirror" ]; then
  mirror=$(cd "$mirror" && pwd)
  printf 'provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n' "$mirror" > "$TF_CLI_CONFIG_FILE"
  echo "terraform: providers from the filesystem mirror $mirror"
else
  printf 'provider_installation {\n  direct {}\n}\n' > "$TF_CLI_CONFIG_FILE"
  echo "terraform: providers from the registry (no ../shared/terraform-mirror)"
fi

terraform fmt -check -recursive infra/terraform

for root in primus secundus; do
  dir=infra/terraform/$root
  [ -e "$dir/.terraform.lock.hcl" ] || made_locks+=("$dir/.terraform.lock.hcl")
  export TF_DATA_DIR="$tmp/$root"
  if ! out=$(terraform -chdir="$dir" init -backend=false -input=false -no-color 2>&1); then
    echo "$out" >&2
    echo "terraform init failed in $dir" >&2
    exit 1
  fi
  terraform -chdir="$dir" validate -no-color
done
