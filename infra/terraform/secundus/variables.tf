# Names follow the codelab's config_env.sh; `infra/deploy.sh` maps them from the environment.

variable "SECUNDUS_PROJECT_ID" {
  type        = string
  description = "Secundus (operator) project id."
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
}

variable "SECUNDUS_RESULT_STORAGE_BUCKET" {
  type    = string
  default = ""
}

variable "WORKLOAD_SERVICEACCOUNT" {
  type    = string
  default = "workload-sa"
}

variable "WORKLOAD_MACHINE_TYPE" {
  type    = string
  default = "n2d-standard-2"
}

variable "PRIMUS_PROJECT_ID" {
  type = string
}

variable "PRIMUS_PROJECT_NUMBER" {
  type = string
}

variable "PRIMUS_INPUT_STORAGE_BUCKET" {
  type    = string
  default = ""
}

variable "PRIMUS_SERVICEACCOUNT" {
  type    = string
  default = ""
}

variable "PRIMUS_WORKLOAD_IDENTITY_POOL" {
  type    = string
  default = ""
}

variable "PRIMUS_WIP_PROVIDER" {
  type    = string
  default = ""
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
  description = "Optional pinned sha256 of the model archive; empty: the workload checks RegisterModel's manifest."
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
  description = "...and at most this many (1..100)."
}
