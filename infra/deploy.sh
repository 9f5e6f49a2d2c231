#!/usr/bin/env bash
# Deploys (or destroys) both companies' projects with Terraform.
#
#   PRIMUS_PROJECT_ID=p SECUNDUS_PROJECT_ID=s infra/deploy.sh apply
#   PRIMUS_PROJECT_ID=p SECUNDUS_PROJECT_ID=s infra/deploy.sh destroy
#
# Every variable of the two roots may come from the environment under its own name (the codelab's
# config_env.sh names: PRIMUS_INPUT_STORAGE_BUCKET, WORKLOAD_IMAGE_NAME, ...). In a real split
# between two companies, each runs only its own root: `infra/deploy.sh apply secundus` or
# `infra/deploy.sh apply primus`.
set -euo pipefail
cd "$(dirname "$0")/.."

action=${1:-}
only=${2:-}
case "$action" in apply|destroy|plan) ;; *) echo "usage: $0 apply|plan|destroy [primus|secundus]" >&2; exit 2 ;; esac
: "${PRIMUS_PROJECT_ID:?set PRIMUS_PROJECT_ID}"
: "${SECUNDUS_PROJECT_ID:?set SECUNDUS_PROJECT_ID}"
command -v terraform >/dev/null || { echo "terraform is not installed" >&2; exit 1; }
command -v gcloud >/dev/null || { echo "gcloud is not installed" >&2; exit 1; }

if [ -z "${PRIMUS_PROJECT_NUMBER:-}" ]; then
  PRIMUS_PROJECT_NUMBER=$(gcloud projects describe "$PRIMUS_PROJECT_ID" --format='value(projectNumber)')
  export PRIMUS_PROJECT_NUMBER
fi
if [ -z "${INITIAL_IMAGE_DIGEST:-}" ] && [ "$action" != destroy ]; then
  echo "building the workload image to learn its digest (reproducible: Cloud Build gets the same one)..."
  INITIAL_IMAGE_DIGEST=$(go run ./cmd/cspipe image build | tail -n 1)
  export INITIAL_IMAGE_DIGEST
fi

# Hand every variable of a root to Terraform from the environment, by its own name.
export_vars() {
  local root=$1 name
  for name in $(sed -n 's/^variable "\([A-Za-z_]*\)".*/\1/p' "infra/terraform/$root/variables.tf"); do
    if [ -n "${!name:-}" ]; then export "TF_VAR_$name=${!name}"; fi
  done
}

run_root() {
  local root=$1
  echo "== $root: terraform $action"
  export_vars "$root"
  terraform -chdir="infra/terraform/$root" init -input=false >/dev/null
  case "$action" in
    apply) terraform -chdir="infra/terraform/$root" apply -input=false ;;
    plan) terraform -chdir="infra/terraform/$root" plan -input=false ;;
    destroy) terraform -chdir="infra/terraform/$root" destroy -input=false ;;
  esac
}

# Secundus first on apply: Primus grants roles to Secundus's service accounts, which must exist.
# Reverse order on destroy.
order=(secundus primus)
[ "$action" = destroy ] && order=(primus secundus)
for root in "${order[@]}"; do
  if [ -z "$only" ] || [ "$only" = "$root" ]; then run_root "$root"; fi
done
