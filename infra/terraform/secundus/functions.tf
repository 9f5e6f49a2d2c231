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

resource "google_cloudfunctions2_function" "schedule" {
  name     = "schedule-run"
  location = var.SECUNDUS_PROJECT_REGION
  build_config {
    runtime     = "go126"
    entry_point = "ScheduleRun"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }
  service_config {
    service_account_email = google_service_account.schedule.email
    max_instance_count    = 20
    available_memory      = "256M"
    timeout_seconds       = 120
    environment_variables = local.schedule_env
  }
  event_trigger {
    trigger_region        = var.SECUNDUS_PROJECT_REGION
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.input.name
    }
  }
  depends_on = [google_project_service.apis, google_project_iam_member.gcs_agent_publishes]
}

resource "google_cloud_run_service_iam_member" "trigger_invokes_schedule" {
  location = google_cloudfunctions2_function.schedule.location
  service  = google_cloudfunctions2_function.schedule.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
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

resource "google_cloudfunctions2_function" "publish" {
  name     = "publish-results"
  location = var.SECUNDUS_PROJECT_REGION
  build_config {
    runtime     = "go126"
    entry_point = "PublishResults"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }
  service_config {
    service_account_email = google_service_account.publish.email
    max_instance_count    = 10
    available_memory      = "512M"
    timeout_seconds       = 540
    environment_variables = local.publish_env
  }
  event_trigger {
    trigger_region        = var.SECUNDUS_PROJECT_REGION
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.results.name
    }
  }
  depends_on = [google_project_service.apis, google_project_iam_member.gcs_agent_publishes]
}

resource "google_cloud_run_service_iam_member" "trigger_invokes_publish" {
  location = google_cloudfunctions2_function.publish.location
  service  = google_cloudfunctions2_function.publish.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}
