# Primus's two functions and their triggers, each with its own service account holding only
# what that function does.

# The source archive and its bucket, the Eventarc trigger account, the storage agent's grant.
module "function_support" {
  source     = "../modules/function_support"
  project_id = var.PRIMUS_PROJECT_ID
  region     = var.PRIMUS_PROJECT_REGION
  source_dir = var.FUNCTION_SOURCE_DIR
  depends_on = [google_project_service.apis]
}

# ---- PinWorkloadImage ------------------------------------------------------------------------

resource "google_service_account" "pin" {
  account_id   = "cspipe-pin-image"
  display_name = "PinWorkloadImage: pins the workload digest in the provider condition"
}

resource "google_project_iam_custom_role" "provider_pinner" {
  role_id     = "cspipeProviderPinner"
  title       = "cspipe provider pinner"
  description = "Read and update Workload Identity Pool providers (their attribute condition) and poll the update."
  # Google names no separate permission for polling a provider's long-running operation: the
  # operation is read under the provider's get permission.
  permissions = [
    "iam.workloadIdentityPoolProviders.get",
    "iam.workloadIdentityPoolProviders.update",
  ]
}

# Granted on the whole project, without an IAM condition: providers have no IAM policy of their
# own, and IAM (like Workflows) does not support resource attributes in IAM Conditions, so a
# resource.name condition would never match and deny every call. The scope is every provider in
# the Primus project; a project dedicated to cspipe holds only this one (see the deploy guide).
resource "google_project_iam_member" "pin_updates_provider" {
  project = var.PRIMUS_PROJECT_ID
  role    = google_project_iam_custom_role.provider_pinner.id
  member  = "serviceAccount:${google_service_account.pin.email}"
}

# PinWorkloadImage resolves each pushed digest in the repository before pinning it.
resource "google_artifact_registry_repository_iam_member" "pin_reads_images" {
  location   = google_artifact_registry_repository.workload.location
  repository = google_artifact_registry_repository.workload.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.pin.email}"
}

# The audit log is append-only for PinWorkloadImage: it creates records (never overwrites them),
# reads them, and replaces only the head pointer pins/latest.json (replacing an object needs
# delete, so objectUser, narrowed by a condition Cloud Storage evaluates).
resource "google_storage_bucket_iam_member" "pin_creates_audit_records" {
  bucket = google_storage_bucket.audit.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.pin.email}"
}

resource "google_storage_bucket_iam_member" "pin_reads_audit" {
  bucket = google_storage_bucket.audit.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.pin.email}"
}

resource "google_storage_bucket_iam_member" "pin_replaces_latest" {
  bucket = google_storage_bucket.audit.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.pin.email}"
  condition {
    title      = "cspipe-pin-pointer-only"
    expression = "resource.name == \"projects/_/buckets/${local.audit_bucket}/objects/pins/latest.json\""
  }
}

# ScheduleRun (Secundus) reads the latest pin to launch the digest Primus approved.
resource "google_storage_bucket_iam_member" "secundus_reads_pins" {
  bucket = google_storage_bucket.audit.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${local.schedule_run_sa}"
}

module "pin_workload_image" {
  source                        = "../modules/event_function"
  name                          = "pin-workload-image"
  entry_point                   = "PinWorkloadImage"
  region                        = var.PRIMUS_PROJECT_REGION
  source_bucket                 = module.function_support.source_bucket
  source_object                 = module.function_support.source_object
  build_service_account         = module.function_support.build_service_account
  docker_repository             = module.function_support.docker_repository
  service_account_email         = google_service_account.pin.email
  environment                   = local.pin_env
  event_type                    = "google.cloud.pubsub.topic.v1.messagePublished"
  pubsub_topic                  = local.gcr_topic_id
  trigger_service_account_email = module.function_support.trigger_service_account_email
  max_instance_count            = 3
  available_memory              = "256M"
  timeout_seconds               = 120
  depends_on                    = [google_project_service.apis]
}

# ---- RegisterModel ---------------------------------------------------------------------------

resource "google_service_account" "register" {
  account_id   = "cspipe-register-model"
  display_name = "RegisterModel: validates model archives and writes their manifests"
}

# RegisterModel reads archives and writes (and, on a newer generation, replaces) their
# <archive>.manifest.json; it can neither delete nor replace an archive.
resource "google_storage_bucket_iam_member" "register_reads_models" {
  bucket = google_storage_bucket.model.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.register.email}"
}

resource "google_storage_bucket_iam_member" "register_writes_manifests" {
  bucket = google_storage_bucket.model.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.register.email}"
  condition {
    title      = "cspipe-manifests-only"
    expression = "resource.name.startsWith(\"projects/_/buckets/${local.model_bucket}/objects/\") && resource.name.endsWith(\".manifest.json\")"
  }
}

module "register_model" {
  source                        = "../modules/event_function"
  name                          = "register-model"
  entry_point                   = "RegisterModel"
  region                        = var.PRIMUS_PROJECT_REGION
  source_bucket                 = module.function_support.source_bucket
  source_object                 = module.function_support.source_object
  build_service_account         = module.function_support.build_service_account
  docker_repository             = module.function_support.docker_repository
  service_account_email         = google_service_account.register.email
  environment                   = local.register_env
  event_type                    = "google.cloud.storage.object.v1.finalized"
  bucket                        = google_storage_bucket.model.name
  trigger_service_account_email = module.function_support.trigger_service_account_email
  max_instance_count            = 5
  available_memory              = "512M"
  timeout_seconds               = 300
  depends_on                    = [google_project_service.apis, module.function_support]
}

# ---- Cloud Build: a push to main builds and pushes the workload image ------------------------

resource "google_service_account" "build" {
  account_id   = "cspipe-build"
  display_name = "Cloud Build: builds and pushes the workload image"
}

resource "google_artifact_registry_repository_iam_member" "build_pushes" {
  location   = google_artifact_registry_repository.workload.location
  repository = google_artifact_registry_repository.workload.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

resource "google_project_iam_member" "build_logs" {
  project = var.PRIMUS_PROJECT_ID
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.build.email}"
}

resource "google_cloudbuild_trigger" "workload" {
  count           = var.GITHUB_OWNER == "" ? 0 : 1
  name            = "cspipe-workload-image"
  location        = var.PRIMUS_PROJECT_REGION
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.build.id
  github {
    owner = var.GITHUB_OWNER
    name  = var.GITHUB_REPOSITORY
    push {
      branch = "^main$"
    }
  }
  substitutions = {
    _IMAGE = local.image_repository
  }
  depends_on = [google_project_service.apis]
}
