# What every project that runs cspipe functions needs once: a private bucket holding the source
# archive the Go buildpack builds, the account the builds run as and the repository they push the
# function images to, the service account Eventarc delivers events as, and the Pub/Sub publisher
# grant Cloud Storage's service agent needs for finalize triggers.

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

  # The archive holds exactly what the Go buildpack needs to build the module root package
  # (functions.go): go.mod, go.sum and the non-test Go files of the packages it imports, no more.
  # The buildpack runs `go mod tidy`, which loads every package in the upload and its tests, so a
  # package or test that imports something left out (cmd/ and the tests import infra/local/...)
  # breaks the build. infra/terraform/buildpack_test.go reads these two lists, checks that they
  # name exactly the root package's dependencies, and builds this selection the buildpack's way.
  source_include = [
    "go.mod",
    "go.sum",
    "functions.go",
    "functions/pinimage/*.go",
    "functions/publishresults/*.go",
    "functions/registermodel/*.go",
    "functions/schedulerun/*.go",
    "internal/archive/*.go",
    "internal/audit/*.go",
    "internal/batch/*.go",
    "internal/batch/computevms/*.go",
    "internal/batch/workflowexec/*.go",
    "internal/blob/*.go",
    "internal/envconfig/*.go",
    "internal/errclass/*.go",
    "internal/events/*.go",
    "internal/fnutil/*.go",
    "internal/pin/*.go",
    "internal/policy/*.go",
    "internal/publish/*.go",
    "internal/publish/pubsubtopic/*.go",
    "internal/records/*.go",
  ]
  source_exclude = ["**/*_test.go"]
  source_files = sort(setsubtract(
    flatten([for p in local.source_include : fileset(var.source_dir, p)]),
    flatten([for p in local.source_exclude : fileset(var.source_dir, p)]),
  ))
}

resource "google_storage_bucket" "source" {
  name                        = local.source_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
}

data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.root}/.build/cspipe-source.zip"
  dynamic "source" {
    for_each = local.source_files
    content {
      filename = source.value
      content  = file("${var.source_dir}/${source.value}")
    }
  }
}

resource "google_storage_bucket_object" "source" {
  name   = "cspipe-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

# ---- Function builds: Cloud Build runs the Go buildpack as this account ---------------------
# Set explicitly (build_config.service_account): the default build account differs between
# projects and, under iam.automaticIamGrantsForDefaultServiceAccounts, holds no roles at all.
resource "google_service_account" "build" {
  account_id   = "cspipe-function-build"
  display_name = "Cloud Build: builds the cspipe functions from their source archive"
}

# The function images go to this repository, not to a project-wide gcf-artifacts one, so the
# build account can write here and nowhere else (in Primus's project it cannot push a workload).
resource "google_artifact_registry_repository" "functions" {
  location      = var.region
  repository_id = "cspipe-functions"
  format        = "DOCKER"
  description   = "Images Cloud Build makes from the cspipe function source"
}

resource "google_artifact_registry_repository_iam_member" "build_pushes" {
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}

# Cloud Functions copies the uploaded source into its own gcf-v2-sources-<number>-<region> bucket,
# from which the build reads; that bucket is not Terraform's to grant on, so the grant is on the
# project, narrowed by a condition (Cloud Storage evaluates it) to those buckets.
resource "google_project_iam_member" "build_reads_function_sources" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = "serviceAccount:${google_service_account.build.email}"
  condition {
    title      = "cspipe-gcf-sources-only"
    expression = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")"
  }
}

resource "google_project_iam_member" "build_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.build.email}"
}

# ---- Event delivery ----------------------------------------------------------------------------

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
# Eventarc names the topic it creates per trigger, so the grant is on the project (Google's
# documented setup for Cloud Storage triggers).
data "google_storage_project_service_account" "gcs" {}

resource "google_project_iam_member" "gcs_agent_publishes" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

# Eventarc hands each event to the function as a Pub/Sub push authenticated with an OIDC token for
# the trigger account, which Pub/Sub's service agent mints. A project whose Pub/Sub agent was made
# before 2021-04-08 lacks that permission (Eventarc's documented prerequisite), and its triggers then
# never deliver; the grant is on the trigger account only, not on the project.
data "google_project" "this" {
  project_id = var.project_id
}

resource "google_service_account_iam_member" "pubsub_agent_signs_for_trigger" {
  service_account_id = google_service_account.trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
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

output "build_service_account" {
  description = "Full resource name of the account function builds run as (build_config.service_account)."
  value       = google_service_account.build.id
}

output "docker_repository" {
  description = "Repository the function builds push to (build_config.docker_repository)."
  value       = google_artifact_registry_repository.functions.id
}
