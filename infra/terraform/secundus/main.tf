# Secundus (the operator): the input and results buckets, workload-sa (the Confidential Space
# VM's identity), the launch workflow, the results topic, and the two Secundus functions:
# ScheduleRun and PublishResults.

locals {
  input_bucket   = coalesce(var.SECUNDUS_INPUT_STORAGE_BUCKET, "${var.SECUNDUS_PROJECT_ID}-input-bucket")
  results_bucket = coalesce(var.SECUNDUS_RESULT_STORAGE_BUCKET, "${var.SECUNDUS_PROJECT_ID}-result-bucket")
  # ScheduleRun's bookkeeping (batch head, claims, items, runs), out of the user's buckets.
  state_bucket = "${var.SECUNDUS_PROJECT_ID}-cspipe-state"

  model_bucket      = coalesce(var.PRIMUS_INPUT_STORAGE_BUCKET, "${var.PRIMUS_PROJECT_ID}-input-bucket")
  audit_bucket      = "${var.PRIMUS_PROJECT_ID}-cspipe-audit"
  primus_sa         = "${var.PRIMUS_SERVICEACCOUNT}@${var.PRIMUS_PROJECT_ID}.iam.gserviceaccount.com"
  pool_id           = var.PRIMUS_WORKLOAD_IDENTITY_POOL
  provider_id       = var.PRIMUS_WIP_PROVIDER
  provider_name     = "projects/${var.PRIMUS_PROJECT_NUMBER}/locations/global/workloadIdentityPools/${local.pool_id}/providers/${local.provider_id}"
  workflow_name     = "cspipe-launch"
  results_topic     = "cspipe-results"
  workflow_resource = "projects/${var.SECUNDUS_PROJECT_ID}/locations/${var.SECUNDUS_PROJECT_REGION}/workflows/${local.workflow_name}"

  # Every API a resource here (or in the modules it calls) needs; a Go test derives the list from
  # the resource types. Function builds run here too: Cloud Build and Artifact Registry.
  apis = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "confidentialcomputing.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
    "workflowexecutions.googleapis.com",
    "workflows.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  service            = each.value
  disable_on_destroy = false
}

# ---- Buckets -------------------------------------------------------------------------------

resource "google_storage_bucket" "input" {
  name                        = local.input_bucket
  location                    = var.SECUNDUS_PROJECT_REGION
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  depends_on                  = [google_project_service.apis]
}

resource "google_storage_bucket" "results" {
  name                        = local.results_bucket
  location                    = var.SECUNDUS_PROJECT_REGION
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  depends_on                  = [google_project_service.apis]
}

# Batch head, claims, items and runs of ScheduleRun; nobody uploads here. Claims and items are
# needed only while their events can still be redelivered and their runs can be swept.
resource "google_storage_bucket" "state" {
  name                        = local.state_bucket
  location                    = var.SECUNDUS_PROJECT_REGION
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  lifecycle_rule {
    condition {
      age            = 30
      matches_prefix = ["claims/", "batches/"]
    }
    action {
      type = "Delete"
    }
  }
  depends_on = [google_project_service.apis]
}

# ---- workload-sa: the Confidential Space VM's identity ---------------------------------------

resource "google_service_account" "workload" {
  account_id   = var.WORKLOAD_SERVICEACCOUNT
  display_name = "cspipe workload (Confidential Space VM)"
}

resource "google_project_iam_member" "workload_attests" {
  project = var.SECUNDUS_PROJECT_ID
  role    = "roles/confidentialcomputing.workloadUser"
  member  = "serviceAccount:${google_service_account.workload.email}"
}

resource "google_project_iam_member" "workload_logs" {
  project = var.SECUNDUS_PROJECT_ID
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.workload.email}"
}

resource "google_storage_bucket_iam_member" "workload_reads_inputs" {
  bucket = google_storage_bucket.input.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.workload.email}"
}

# Its batch's items (which images to classify) are in the state bucket.
resource "google_storage_bucket_iam_member" "workload_reads_batch_items" {
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.workload.email}"
}

# Results are only ever created, never overwritten, by the workload.
resource "google_storage_bucket_iam_member" "workload_writes_results" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.workload.email}"
}

# ---- Results topic, its dead-letter topic, and a subscription for the operator ---------------

resource "google_pubsub_topic" "results" {
  name       = local.results_topic
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "results_dead_letter" {
  name       = "cspipe-results-dead-letter"
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "results" {
  name                    = "cspipe-results"
  topic                   = google_pubsub_topic.results.id
  enable_message_ordering = true
  ack_deadline_seconds    = 60
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.results_dead_letter.id
    max_delivery_attempts = 10
  }
}

data "google_project" "secundus" {}

locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.secundus.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# Pub/Sub moves undeliverable messages as its service agent.
resource "google_pubsub_topic_iam_member" "agent_publishes_dead_letters" {
  topic  = google_pubsub_topic.results_dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "agent_forwards_dead_letters" {
  subscription = google_pubsub_subscription.results.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# ---- The launch workflow --------------------------------------------------------------------

resource "google_service_account" "workflow" {
  account_id   = "cspipe-launch"
  display_name = "cspipe launch workflow: creates, watches and deletes workload VMs"
}

# Exactly what launch.yaml does with Compute: create a Confidential Space VM (disk, metadata,
# service account, the network or subnetwork, an external IP when asked), read it and its zone
# operations, delete it. Not roles/compute.instanceAdmin.v1, which also stops, resets, resizes,
# attaches disks and sets IAM on instances.
resource "google_project_iam_custom_role" "vm_launcher" {
  role_id     = "cspipeVmLauncher"
  title       = "cspipe VM launcher"
  description = "Create, read and delete the Confidential Space VMs of one cspipe run."
  permissions = [
    "compute.disks.create",
    "compute.disks.delete",
    "compute.instances.create",
    "compute.instances.delete",
    "compute.instances.get",
    "compute.instances.setMetadata",
    "compute.instances.setServiceAccount",
    "compute.networks.use",
    "compute.networks.useExternalIp",
    "compute.subnetworks.use",
    "compute.subnetworks.useExternalIp",
    "compute.zoneOperations.get",
  ]
}

# Narrowed by an IAM condition (Compute supports resource attributes) to instances named cspipe-….
resource "google_project_iam_member" "workflow_manages_vms" {
  project = var.SECUNDUS_PROJECT_ID
  role    = google_project_iam_custom_role.vm_launcher.id
  member  = "serviceAccount:${google_service_account.workflow.email}"
  condition {
    title      = "cspipe-vms-only"
    expression = "resource.type != \"compute.googleapis.com/Instance\" || resource.name.extract(\"/instances/{name}\").startsWith(\"cspipe-\")"
  }
}

# To attach workload-sa to the VMs it creates.
resource "google_service_account_iam_member" "workflow_attaches_workload_sa" {
  service_account_id = google_service_account.workload.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.workflow.email}"
}

# The workflow waits on its batch in the state bucket, seals it (a conditional rewrite of the
# head) and records the plan.
resource "google_storage_bucket_iam_member" "workflow_reads_state" {
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.workflow.email}"
}

resource "google_storage_bucket_iam_member" "workflow_seals_batches" {
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.workflow.email}"
  condition {
    title      = "cspipe-head-and-plans"
    expression = "resource.name == \"projects/_/buckets/${local.state_bucket}/objects/head.json\" || (resource.name.startsWith(\"projects/_/buckets/${local.state_bucket}/objects/batches/\") && resource.name.endsWith(\"/plan.json\"))"
  }
}

# Error summaries for shards that produced none.
resource "google_storage_bucket_iam_member" "workflow_writes_error_summaries" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.workflow.email}"
}

resource "google_storage_bucket_iam_member" "workflow_checks_summaries" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.workflow.email}"
}

resource "google_project_iam_member" "workflow_logs" {
  project = var.SECUNDUS_PROJECT_ID
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.workflow.email}"
}

resource "google_workflows_workflow" "launch" {
  name            = local.workflow_name
  region          = var.SECUNDUS_PROJECT_REGION
  description     = "Launch Confidential Space VMs for one cspipe run and always delete them."
  service_account = google_service_account.workflow.id
  source_contents = file("${path.module}/../../../workflows/launch.yaml")
  call_log_level  = "LOG_ERRORS_ONLY"
  # Provider 7.x defaults this to true, which makes `make destroy` fail on the workflow.
  deletion_protection = var.WORKFLOW_DELETION_PROTECTION
  depends_on          = [google_project_service.apis]
}
