# Secundus's two functions and their triggers, each with its own service account.

data "archive_file" "source" {
  type        = "zip"
  source_dir  = var.FUNCTION_SOURCE_DIR
  output_path = "${path.module}/.build/cspipe-source.zip"
  excludes    = [".git", ".ci", "infra", "tools", "node_modules", "testdata", "e2e", "workload", "docs"]
}

resource "google_storage_bucket_object" "source" {
  name   = "cspipe-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

resource "google_service_account" "trigger" {
  account_id   = "cspipe-trigger"
  display_name = "Eventarc trigger for cspipe functions"
}

resource "google_project_iam_member" "trigger_receives_events" {
  project = var.SECUNDUS_PROJECT_ID
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

data "google_storage_project_service_account" "gcs" {}

resource "google_project_iam_member" "gcs_agent_publishes" {
  project = var.SECUNDUS_PROJECT_ID
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

# ---- ScheduleRun -----------------------------------------------------------------------------

# Its account id is fixed: the Primus root grants it read access to the latest pin.
resource "google_service_account" "schedule" {
  account_id   = "cspipe-schedule-run"
  display_name = "ScheduleRun: batches uploads and starts one launch per batch"
}

# Claims and batch state live under _cspipe/ in the input bucket.
resource "google_storage_bucket_iam_member" "schedule_tracks_batches" {
  bucket = google_storage_bucket.input.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.schedule.email}"
}

resource "google_project_iam_member" "schedule_starts_launch" {
  project = var.SECUNDUS_PROJECT_ID
  role    = "roles/workflows.invoker"
  member  = "serviceAccount:${google_service_account.schedule.email}"
  condition {
    title      = "cspipe-launch-only"
    expression = "resource.name.startsWith(\"${local.workflow_resource}\")"
  }
}

module "schedule_run" {
  source                        = "../modules/event_function"
  name                          = "schedule-run"
  entry_point                   = "ScheduleRun"
  region                        = var.SECUNDUS_PROJECT_REGION
  source_bucket                 = google_storage_bucket.source.name
  source_object                 = google_storage_bucket_object.source.name
  service_account_email         = google_service_account.schedule.email
  environment                   = local.schedule_env
  event_type                    = "google.cloud.storage.object.v1.finalized"
  bucket                        = google_storage_bucket.input.name
  trigger_service_account_email = google_service_account.trigger.email
  max_instance_count            = 20
  available_memory              = "256M"
  timeout_seconds               = 120
  depends_on                    = [google_project_service.apis, google_project_iam_member.gcs_agent_publishes]
}

# ---- PublishResults --------------------------------------------------------------------------

resource "google_service_account" "publish" {
  account_id   = "cspipe-publish-results"
  display_name = "PublishResults: publishes run results to Pub/Sub"
}

# Reads results; keeps its publish-progress marker next to them.
resource "google_storage_bucket_iam_member" "publish_reads_results" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.publish.email}"
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
  source_bucket                 = google_storage_bucket.source.name
  source_object                 = google_storage_bucket_object.source.name
  service_account_email         = google_service_account.publish.email
  environment                   = local.publish_env
  event_type                    = "google.cloud.storage.object.v1.finalized"
  bucket                        = google_storage_bucket.results.name
  trigger_service_account_email = google_service_account.trigger.email
  max_instance_count            = 10
  available_memory              = "512M"
  timeout_seconds               = 540
  depends_on                    = [google_project_service.apis, google_project_iam_member.gcs_agent_publishes]
}
