# Secundus's two functions and their triggers, each with its own service account.

# The source archive and its bucket, the Eventarc trigger account, the storage agent's grant.
module "function_support" {
  source     = "../modules/function_support"
  project_id = var.SECUNDUS_PROJECT_ID
  region     = var.SECUNDUS_PROJECT_REGION
  source_dir = var.FUNCTION_SOURCE_DIR
  depends_on = [google_project_service.apis]
}

# ---- ScheduleRun -----------------------------------------------------------------------------

# Its account id is fixed: the Primus root grants it read access to the latest pin.
resource "google_service_account" "schedule" {
  account_id   = "cspipe-schedule-run"
  display_name = "ScheduleRun: batches uploads and starts one launch per batch"
}

# Claims, items and runs live in the state bucket, never in the user's input bucket. Listing is
# checked on the bucket (an object-name condition would refuse it), so reading is one grant and
# replacing or deleting is another, narrowed to the names ScheduleRun writes.
resource "google_storage_bucket_iam_member" "schedule_reads_state" {
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.schedule.email}"
}

resource "google_storage_bucket_iam_member" "schedule_tracks_batches" {
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.schedule.email}"
  condition {
    title      = "cspipe-batch-state"
    expression = "resource.name == \"projects/_/buckets/${local.state_bucket}/objects/head.json\" || resource.name.startsWith(\"projects/_/buckets/${local.state_bucket}/objects/claims/\") || resource.name.startsWith(\"projects/_/buckets/${local.state_bucket}/objects/batches/\")"
  }
}

# The sweeper fails a dead run by creating its missing summaries (PublishResults sends them).
resource "google_storage_bucket_iam_member" "schedule_fails_dead_runs" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.schedule.email}"
}

# The sweeper deletes the VMs a run left once its execution is over (the workflow's delete
# failed, or the execution was cancelled or died): it reads each of the run's VMs by the name
# launch.yaml gives it and deletes it (internal/batch, "Sweeper"). It lists nothing, so no
# compute.instances.list; the instance's boot disk is deleted with it (autoDelete), which Compute
# checks as compute.disks.delete. Narrowed like the workflow's role to instances named cspipe-….
resource "google_project_iam_custom_role" "vm_reaper" {
  role_id     = "cspipeVmReaper"
  title       = "cspipe VM reaper"
  description = "Read and delete the Confidential Space VMs that ended cspipe runs left behind."
  permissions = [
    "compute.disks.delete",
    "compute.instances.delete",
    "compute.instances.get",
  ]
}

resource "google_project_iam_member" "schedule_reaps_vms" {
  project = var.SECUNDUS_PROJECT_ID
  role    = google_project_iam_custom_role.vm_reaper.id
  member  = "serviceAccount:${google_service_account.schedule.email}"
  condition {
    title      = "cspipe-vms-only"
    expression = "resource.type != \"compute.googleapis.com/Instance\" || resource.name.extract(\"/instances/{name}\").startsWith(\"cspipe-\")"
  }
}

# Workflows has no per-workflow IAM policy and does not support resource attributes in IAM
# Conditions (a resource.name condition would deny every call), so the invoker role is granted on
# the project, unconditioned: it lets ScheduleRun start executions of any workflow in Secundus's
# project, which in a project dedicated to cspipe is cspipe-launch alone.
resource "google_project_iam_member" "schedule_starts_launch" {
  project = var.SECUNDUS_PROJECT_ID
  role    = "roles/workflows.invoker"
  member  = "serviceAccount:${google_service_account.schedule.email}"
}

module "schedule_run" {
  source                        = "../modules/event_function"
  name                          = "schedule-run"
  entry_point                   = "ScheduleRun"
  region                        = var.SECUNDUS_PROJECT_REGION
  source_bucket                 = module.function_support.source_bucket
  source_object                 = module.function_support.source_object
  build_service_account         = module.function_support.build_service_account
  docker_repository             = module.function_support.docker_repository
  service_account_email         = google_service_account.schedule.email
  environment                   = local.schedule_env
  event_type                    = "google.cloud.storage.object.v1.finalized"
  bucket                        = google_storage_bucket.input.name
  trigger_service_account_email = module.function_support.trigger_service_account_email
  max_instance_count            = 20
  available_memory              = "256M"
  timeout_seconds               = 120
  depends_on                    = [google_project_service.apis, module.function_support]
}

# ---- SweepRuns: ScheduleRun's sweeper on a timer ------------------------------------------
# ScheduleRun also sweeps when an upload opens a batch; this tick covers a run that died with no
# upload after it (internal/batch, "Sweeper"). Same code, configuration and account.

resource "google_pubsub_topic" "sweep" {
  name       = "cspipe-sweep"
  depends_on = [google_project_service.apis]
}

resource "google_cloud_scheduler_job" "sweep" {
  name     = "cspipe-sweep"
  region   = var.SECUNDUS_PROJECT_REGION
  schedule = "*/5 * * * *"
  pubsub_target {
    topic_name = google_pubsub_topic.sweep.id
    data       = base64encode("sweep")
  }
  depends_on = [google_project_service.apis]
}

module "sweep_runs" {
  source                        = "../modules/event_function"
  name                          = "sweep-runs"
  entry_point                   = "SweepRuns"
  region                        = var.SECUNDUS_PROJECT_REGION
  source_bucket                 = module.function_support.source_bucket
  source_object                 = module.function_support.source_object
  build_service_account         = module.function_support.build_service_account
  docker_repository             = module.function_support.docker_repository
  service_account_email         = google_service_account.schedule.email
  environment                   = local.schedule_env
  event_type                    = "google.cloud.pubsub.topic.v1.messagePublished"
  pubsub_topic                  = google_pubsub_topic.sweep.id
  trigger_service_account_email = module.function_support.trigger_service_account_email
  max_instance_count            = 1
  available_memory              = "256M"
  timeout_seconds               = 120
  depends_on                    = [google_project_service.apis, module.function_support]
}

# ---- PublishResults --------------------------------------------------------------------------

resource "google_service_account" "publish" {
  account_id   = "cspipe-publish-results"
  display_name = "PublishResults: publishes run results to Pub/Sub"
}

# Reads results; keeps its publish-progress marker (<shard prefix>/published.json) next to them and
# can create, replace or delete nothing else.
resource "google_storage_bucket_iam_member" "publish_reads_results" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.publish.email}"
}

resource "google_storage_bucket_iam_member" "publish_keeps_markers" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.publish.email}"
  condition {
    title      = "cspipe-publish-markers-only"
    expression = "resource.name.startsWith(\"projects/_/buckets/${local.results_bucket}/objects/runs/\") && resource.name.endsWith(\"/published.json\")"
  }
}

resource "google_pubsub_topic_iam_member" "publish_publishes" {
  topic  = google_pubsub_topic.results.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.publish.email}"
}

module "publish_results" {
  source                        = "../modules/event_function"
  name                          = "publish-results"
  entry_point                   = "PublishResults"
  region                        = var.SECUNDUS_PROJECT_REGION
  source_bucket                 = module.function_support.source_bucket
  source_object                 = module.function_support.source_object
  build_service_account         = module.function_support.build_service_account
  docker_repository             = module.function_support.docker_repository
  service_account_email         = google_service_account.publish.email
  environment                   = local.publish_env
  event_type                    = "google.cloud.storage.object.v1.finalized"
  bucket                        = google_storage_bucket.results.name
  trigger_service_account_email = module.function_support.trigger_service_account_email
  max_instance_count            = 10
  available_memory              = "512M"
  timeout_seconds               = 540
  depends_on                    = [google_project_service.apis, module.function_support]
}
