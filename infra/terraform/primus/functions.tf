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
  description = "Read and update a Workload Identity Pool provider (its attribute condition)."
  permissions = [
    "iam.workloadIdentityPoolProviders.get",
    "iam.workloadIdentityPoolProviders.update",
  ]
}

# The custom role is granted on the project (providers have no IAM policy of their own), with an
# IAM condition that narrows it to the one provider and its operations.
resource "google_project_iam_member" "pin_updates_provider" {
  project = var.PRIMUS_PROJECT_ID
  role    = google_project_iam_custom_role.provider_pinner.id
  member  = "serviceAccount:${google_service_account.pin.email}"
  condition {
    title      = "cspipe-provider-only"
    expression = "resource.name == \"${local.provider_name}\" || resource.name.startsWith(\"${local.provider_name}/operations/\")"
  }
}

# PinWorkloadImage resolves each pushed digest in the repository before pinning it.
resource "google_artifact_registry_repository_iam_member" "pin_reads_images" {
  location   = google_artifact_registry_repository.workload.location
  repository = google_artifact_registry_repository.workload.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.pin.email}"
}

resource "google_storage_bucket_iam_member" "pin_writes_audit" {
  bucket = google_storage_bucket.audit.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.pin.email}"
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
  service_account_email         = google_service_account.pin.email
  environment                   = local.pin_env
  event_type                    = "google.cloud.pubsub.topic.v1.messagePublished"
  pubsub_topic                  = google_pubsub_topic.gcr.id
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

resource "google_storage_bucket_iam_member" "register_reads_writes_models" {
  bucket = google_storage_bucket.model.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.register.email}"
}

module "register_model" {
  source                        = "../modules/event_function"
  name                          = "register-model"
  entry_point                   = "RegisterModel"
  region                        = var.PRIMUS_PROJECT_REGION
  source_bucket                 = module.function_support.source_bucket
  source_object                 = module.function_support.source_object
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
