# What every project that runs cspipe functions needs once: a private bucket holding the source
# archive the Go buildpack builds, the service account Eventarc delivers events as, and the
# Pub/Sub publisher grant Cloud Storage's service agent needs for finalize triggers.

terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
    archive = {
      source = "hashicorp/archive"
    }
  }
}

variable "project_id" {
  type = string
}

variable "region" {
  type = string
}

variable "source_dir" {
  type        = string
  description = "The cspipe module root, zipped and uploaded as the functions' source."
}

locals {
  source_bucket = "${var.project_id}-cspipe-source"
}

resource "google_storage_bucket" "source" {
  name                        = local.source_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = var.source_dir
  output_path = "${path.root}/.build/cspipe-source.zip"
  excludes    = [".git", ".ci", "infra", "tools", "node_modules", "testdata", "e2e", "workload", "docs"]
}

resource "google_storage_bucket_object" "source" {
  name   = "cspipe-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

# Eventarc delivers events as this account; the event_function module lets only it invoke.
resource "google_service_account" "trigger" {
  account_id   = "cspipe-trigger"
  display_name = "Eventarc trigger for cspipe functions"
}

resource "google_project_iam_member" "trigger_receives_events" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

# Cloud Storage publishes object notifications for Eventarc through Pub/Sub as its service agent.
data "google_storage_project_service_account" "gcs" {}

resource "google_project_iam_member" "gcs_agent_publishes" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

output "source_bucket" {
  value = google_storage_bucket.source.name
}

output "source_object" {
  value = google_storage_bucket_object.source.name
}

output "trigger_service_account_email" {
  value = google_service_account.trigger.email
}
