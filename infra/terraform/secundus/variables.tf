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

variable "BATCH_WINDOW" {
  type        = string
  default     = "60s"
  description = "Uploads within one window form one run."
}

variable "SHARD_COUNT" {
  type    = number
  default = 1
}

variable "RUN_TIMEOUT_SECONDS" {
  type    = number
  default = 3600
}

variable "FUNCTION_SOURCE_DIR" {
  type    = string
  default = "../../.."
}

variable "BATCH_GRACE" {
  type        = string
  default     = "30s"
  description = "How long after a batch window closes the launch waits for late claims."
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

variable "network" {
  type        = string
  default     = "default"
  description = "VPC network of the workload VMs (a name or projects/P/global/networks/N). Set it where compute.skipDefaultNetworkCreation left no default network."
}

variable "subnetwork" {
  type        = string
  default     = ""
  description = "Subnetwork of the workload VMs (a name in the zone's region or projects/P/regions/R/subnetworks/S); required for a custom-mode network."
}

variable "external_ip" {
  type        = bool
  default     = true
  description = "Give workload VMs an external IP. Set false under compute.vmExternalIpAccess; the subnetwork then needs Private Google Access."
}
