# Names follow the codelab's config_env.sh; `infra/deploy.sh` maps them from the environment.

variable "SECUNDUS_PROJECT_ID" {
  type        = string
  description = "Secundus (operator) project id."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.SECUNDUS_PROJECT_ID))
    error_message = "SECUNDUS_PROJECT_ID must be a project id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "SECUNDUS_PROJECT_REGION" {
  type    = string
  default = "us-west1"
}

variable "SECUNDUS_PROJECT_ZONE" {
  type    = string
  default = "us-west1-b"
}

variable "SECUNDUS_INPUT_STORAGE_BUCKET" {
  type    = string
  default = ""
  validation {
    condition     = var.SECUNDUS_INPUT_STORAGE_BUCKET == "" || can(regex("^[a-z0-9][-_a-z0-9]{1,61}[a-z0-9]$", var.SECUNDUS_INPUT_STORAGE_BUCKET))
    error_message = "SECUNDUS_INPUT_STORAGE_BUCKET must be empty (the default name) or a bucket name: 3-63 lowercase letters, digits, hyphens or underscores."
  }
}

variable "SECUNDUS_RESULT_STORAGE_BUCKET" {
  type    = string
  default = ""
  validation {
    condition     = var.SECUNDUS_RESULT_STORAGE_BUCKET == "" || can(regex("^[a-z0-9][-_a-z0-9]{1,61}[a-z0-9]$", var.SECUNDUS_RESULT_STORAGE_BUCKET))
    error_message = "SECUNDUS_RESULT_STORAGE_BUCKET must be empty (the default name) or a bucket name: 3-63 lowercase letters, digits, hyphens or underscores."
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

variable "WORKLOAD_MACHINE_TYPE" {
  type    = string
  default = "n2d-standard-2"
}

variable "PRIMUS_PROJECT_ID" {
  type = string
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.PRIMUS_PROJECT_ID))
    error_message = "PRIMUS_PROJECT_ID must be a project id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "PRIMUS_PROJECT_NUMBER" {
  type = string
}

variable "PRIMUS_INPUT_STORAGE_BUCKET" {
  type    = string
  default = ""
  validation {
    condition     = var.PRIMUS_INPUT_STORAGE_BUCKET == "" || can(regex("^[a-z0-9][-_a-z0-9]{1,61}[a-z0-9]$", var.PRIMUS_INPUT_STORAGE_BUCKET))
    error_message = "PRIMUS_INPUT_STORAGE_BUCKET must be empty (the default name) or a bucket name: 3-63 lowercase letters, digits, hyphens or underscores."
  }
}

variable "PRIMUS_SERVICEACCOUNT" {
  type    = string
  default = "primus-sa"
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

variable "MODEL_OBJECT" {
  type        = string
  default     = "model.tar.gz"
  description = "Object name of Primus's model archive in PRIMUS_INPUT_STORAGE_BUCKET."
}

variable "RUN_TIMEOUT_SECONDS" {
  type    = number
  default = 3600
}

variable "FUNCTION_SOURCE_DIR" {
  type    = string
  default = "../../.."
}

variable "MODEL_SHA256" {
  type        = string
  default     = ""
  description = "Optional sha256 the model archive must have; the workload requires RegisterModel's accepted manifest either way (a pin cannot release an unregistered or rejected model)."
}

variable "WORKLOAD_IMAGE" {
  type        = string
  default     = ""
  description = "Optional REPO@sha256:... to launch instead of following Primus's latest pin (tags are refused)."
}

variable "USE_DEBUG_IMAGE_UNSAFE" {
  type        = string
  default     = "false"
  description = "Launch the confidential-space-debug image. A production condition refuses it."
}

variable "MAX_EVENT_AGE" {
  type    = string
  default = "24h"
}

variable "WORKFLOW_DELETION_PROTECTION" {
  type        = bool
  default     = false
  description = "Refuse to destroy the launch workflow (provider 7.x would default to true, breaking `make destroy`)."
}

# VM network launch settings (ScheduleRun passes them to every launch). The defaults use the
# project's `default` network with an external IP; under the org policies
# compute.skipDefaultNetworkCreation or compute.vmExternalIpAccess, name your own network and
# subnetwork and set external_ip = false (the subnetwork then needs Private Google Access so the
# VM reaches Artifact Registry, STS and Cloud Storage).
variable "network" {
  type        = string
  default     = "default"
  description = "VPC network of the workload VMs (name or projects/P/global/networks/N)."
  validation {
    condition     = var.network != ""
    error_message = "network must name a VPC network."
  }
}

variable "subnetwork" {
  type        = string
  default     = ""
  description = "Subnetwork of the workload VMs in SECUNDUS_PROJECT_REGION; required for custom-mode networks."
}

variable "external_ip" {
  type        = bool
  default     = true
  description = "Give workload VMs an external IP; false needs Private Google Access on the subnetwork."
}

# ---- Batching (internal/batch): one upload burst is one run ----------------------------------

variable "batch_quiet" {
  type        = string
  default     = "15s"
  description = "A batch (one run) closes when no upload arrived for this long (whole seconds)."
}

variable "batch_max_wait" {
  type        = string
  default     = "10m"
  description = "A batch closes this long after its run started, however busy the uploads."
}

variable "batch_max_items" {
  type        = number
  default     = 0
  description = "A batch closes once it holds this many uploads (0: no limit)."
}

variable "images_per_shard" {
  type        = number
  default     = 2000
  description = "A run gets ceil(images / images_per_shard) Confidential VMs..."
}

variable "max_shards" {
  type        = number
  default     = 10
  description = "...and at most this many (1..20)."
  # Cloud Workflows runs at most 20 iterations of a parallel step at once and queues the rest: a
  # 21st shard would start only when another ended, against the run's one deadline.
  validation {
    condition     = var.max_shards >= 1 && var.max_shards <= 20
    error_message = "max_shards must be from 1 to 20 (Cloud Workflows runs at most 20 parallel iterations at once)."
  }
}
