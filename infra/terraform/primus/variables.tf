# Names follow the codelab's config_env.sh so codelab users find their way; `infra/deploy.sh`
# maps an environment that sourced config_env.sh onto these (TF_VAR_<NAME>).

variable "PRIMUS_PROJECT_ID" {
  type        = string
  description = "Primus (model owner) project id."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.PRIMUS_PROJECT_ID))
    error_message = "PRIMUS_PROJECT_ID must be a project id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
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
  validation {
    condition     = var.PRIMUS_INPUT_STORAGE_BUCKET == "" || can(regex("^[a-z0-9][-_a-z0-9]{1,61}[a-z0-9]$", var.PRIMUS_INPUT_STORAGE_BUCKET))
    error_message = "PRIMUS_INPUT_STORAGE_BUCKET must be empty (the default name) or a bucket name: 3-63 lowercase letters, digits, hyphens or underscores."
  }
}

variable "PRIMUS_SERVICEACCOUNT" {
  type        = string
  default     = "primus-sa"
  description = "Account id of the model reader the attested workload impersonates (the codelab's name)."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.PRIMUS_SERVICEACCOUNT))
    error_message = "PRIMUS_SERVICEACCOUNT must be a service-account id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "PRIMUS_WORKLOAD_IDENTITY_POOL" {
  type    = string
  default = "primus-wip"
  validation {
    condition     = can(regex("^[a-z0-9][-a-z0-9]{2,30}[a-z0-9]$", var.PRIMUS_WORKLOAD_IDENTITY_POOL)) && !can(regex("^gcp-", var.PRIMUS_WORKLOAD_IDENTITY_POOL))
    error_message = "PRIMUS_WORKLOAD_IDENTITY_POOL must be 4-32 lowercase letters, digits or hyphens, not starting with gcp-."
  }
}

variable "PRIMUS_WIP_PROVIDER" {
  type    = string
  default = "primus-wip-provider"
  validation {
    condition     = can(regex("^[a-z0-9][-a-z0-9]{2,30}[a-z0-9]$", var.PRIMUS_WIP_PROVIDER)) && !can(regex("^gcp-", var.PRIMUS_WIP_PROVIDER))
    error_message = "PRIMUS_WIP_PROVIDER must be 4-32 lowercase letters, digits or hyphens, not starting with gcp-."
  }
}

variable "PRIMUS_ARTIFACT_REPOSITORY" {
  type    = string
  default = "primus-artifact-repo"
  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.PRIMUS_ARTIFACT_REPOSITORY))
    error_message = "PRIMUS_ARTIFACT_REPOSITORY must be an Artifact Registry repository id: up to 63 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "SECUNDUS_PROJECT_ID" {
  type        = string
  description = "Secundus (operator) project id: its workload service account is admitted by the condition."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.SECUNDUS_PROJECT_ID))
    error_message = "SECUNDUS_PROJECT_ID must be a project id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "WORKLOAD_SERVICEACCOUNT" {
  type    = string
  default = "workload-sa"
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.WORKLOAD_SERVICEACCOUNT))
    error_message = "WORKLOAD_SERVICEACCOUNT must be a service-account id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
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

variable "GCR_TOPIC_EXISTS" {
  type        = bool
  default     = false
  description = "The Pub/Sub topic `gcr` already exists in the Primus project: use it instead of creating it (it is then never deleted)."
}
