# One gen2 Cloud Function (Go) from the shared cspipe source archive, triggered by Eventarc (a
# Pub/Sub topic or a bucket's finalize events), and the binding that lets the trigger's service
# account, and only it, invoke the function.

terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}

variable "name" {
  type = string
}

variable "entry_point" {
  type        = string
  description = "The name the function registers with functions-framework-go (its EntryPoint)."
}

variable "region" {
  type = string
}

variable "source_bucket" {
  type = string
}

variable "source_object" {
  type = string
}

variable "build_service_account" {
  type        = string
  description = "Full resource name (projects/P/serviceAccounts/EMAIL) of the account the build runs as."
}

variable "docker_repository" {
  type        = string
  description = "projects/P/locations/L/repositories/R the build pushes the function image to."
}

variable "service_account_email" {
  type        = string
  description = "The function's own identity, holding only what it does."
}

variable "environment" {
  type        = map(string)
  description = "Exactly the variables the function's Config reads."
}

variable "event_type" {
  type = string
}

variable "pubsub_topic" {
  type        = string
  default     = null
  description = "For google.cloud.pubsub.topic.v1.messagePublished triggers."
}

variable "bucket" {
  type        = string
  default     = null
  description = "For google.cloud.storage.object.v1.finalized triggers."
}

variable "trigger_service_account_email" {
  type = string
}

variable "max_instance_count" {
  type    = number
  default = 5
}

variable "available_memory" {
  type    = string
  default = "256M"
}

variable "timeout_seconds" {
  type    = number
  default = 120
}

resource "google_cloudfunctions2_function" "function" {
  name     = var.name
  location = var.region
  build_config {
    runtime           = "go126"
    entry_point       = var.entry_point
    service_account   = var.build_service_account
    docker_repository = var.docker_repository
    source {
      storage_source {
        bucket = var.source_bucket
        object = var.source_object
      }
    }
  }
  service_config {
    service_account_email = var.service_account_email
    max_instance_count    = var.max_instance_count
    available_memory      = var.available_memory
    timeout_seconds       = var.timeout_seconds
    environment_variables = var.environment
    # One request per instance (the gen2 default, pinned): the CloudEvents receiver that
    # functions-framework-go serves hands queued events to whichever waiting request comes first,
    # so concurrent requests in one instance can run each other's events or strand one.
    max_instance_request_concurrency = 1
  }
  event_trigger {
    trigger_region        = var.region
    event_type            = var.event_type
    pubsub_topic          = var.pubsub_topic
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = var.trigger_service_account_email
    dynamic "event_filters" {
      for_each = var.bucket == null ? [] : [var.bucket]
      content {
        attribute = "bucket"
        value     = event_filters.value
      }
    }
  }
}

resource "google_cloud_run_service_iam_member" "trigger_invokes" {
  location = google_cloudfunctions2_function.function.location
  service  = google_cloudfunctions2_function.function.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${var.trigger_service_account_email}"
}

output "service" {
  value = google_cloudfunctions2_function.function.service_config[0].service
}
