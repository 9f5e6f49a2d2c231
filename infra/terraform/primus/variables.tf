# Names follow the codelab's config_env.sh so codelab users find their way; `infra/deploy.sh`
# maps an environment that sourced config_env.sh onto these (TF_VAR_<NAME>).

variable "PRIMUS_PROJECT_ID" {
  type        = string
  description = "Primus (model owner) project id."
}

variable "PRIMUS_PROJECT_NUMBER" {
  type        = string
  description = "Primus project number (the Workload Identity Pool's resource names use it)."
}

variable "PRIMUS_PROJECT_REGION" {
  type    = string
  default = "us-west1"
}

variable "PRIMUS_PROJECT_LOCATION" {
  type    = string
  default = "global"
}

variable "PRIMUS_PROJECT_REPOSITORY_REGION" {
  type    = string
  default = "us"
}

variable "PRIMUS_INPUT_STORAGE_BUCKET" {
  type        = string
  default     = ""
  description = "Model bucket; default <PRIMUS_PROJECT_ID>-input-bucket."
}

variable "PRIMUS_SERVICEACCOUNT" {
  type        = string
  default     = ""
  description = "Account id of the model reader the attested workload impersonates; default <PRIMUS_PROJECT_ID>-sa."
}

variable "PRIMUS_WORKLOAD_IDENTITY_POOL" {
  type    = string
  default = ""
}

variable "PRIMUS_WIP_PROVIDER" {
  type    = string
  default = ""
}

variable "PRIMUS_ARTIFACT_REPOSITORY" {
  type    = string
  default = ""
}

variable "SECUNDUS_PROJECT_ID" {
  type        = string
  description = "Secundus (operator) project id: its workload service account is admitted by the condition."
}

variable "WORKLOAD_SERVICEACCOUNT" {
  type    = string
  default = "workload-sa"
}

variable "WORKLOAD_IMAGE_NAME" {
  type    = string
  default = "workload-container"
}

variable "INITIAL_IMAGE_DIGEST" {
  type        = string
  description = "Digest (sha256:<64 hex>) the provider admits until the first push re-pins it; `make image` prints one."
  validation {
    condition     = can(regex("^sha256:[0-9a-f]{64}$", var.INITIAL_IMAGE_DIGEST))
    error_message = "INITIAL_IMAGE_DIGEST must be sha256: followed by 64 lowercase hex digits; tags are never accepted."
  }
}

variable "SUPPORT_ATTRIBUTE" {
  type    = string
  default = "STABLE"
}

variable "FUNCTION_SOURCE_DIR" {
  type        = string
  default     = "../../.."
  description = "The cspipe module root, zipped and uploaded as the functions' source."
}

variable "GITHUB_OWNER" {
  type        = string
  default     = ""
  description = "Owner of the GitHub repository holding cspipe, for the Cloud Build trigger (empty: no trigger)."
}

variable "GITHUB_REPOSITORY" {
  type    = string
  default = "cspipe"
}

variable "PIN_ENV_OVERRIDES" {
  type        = string
  default     = ""
  description = "Optional NAME=value pairs (comma-separated) PinWorkloadImage also pins in the condition."
}

variable "PIN_RESTART_POLICY" {
  type        = string
  default     = ""
  description = "Optional restart policy (Never) PinWorkloadImage also pins in the condition."
}

variable "MAX_EVENT_AGE" {
  type        = string
  default     = "24h"
  description = "Events older than this are dropped with a log line."
}

variable "MAX_ARCHIVE_BYTES" {
  type    = string
  default = "268435456"
}
