# Primus (the model owner): the model bucket, the workload image repository, the Workload
# Identity Pool and provider whose attribute condition is the gate, primus-sa (the only reader
# of the model), and the two Primus functions: PinWorkloadImage and RegisterModel.

locals {
  model_bucket = coalesce(var.PRIMUS_INPUT_STORAGE_BUCKET, "${var.PRIMUS_PROJECT_ID}-input-bucket")
  audit_bucket = "${var.PRIMUS_PROJECT_ID}-cspipe-audit"
  # Project-scoped ids take the codelab's names (they need no project prefix, and one would overflow
  # Google's limits for long project ids); bucket names are global and carry the project id.
  primus_sa_id  = var.PRIMUS_SERVICEACCOUNT
  pool_id       = var.PRIMUS_WORKLOAD_IDENTITY_POOL
  provider_id   = var.PRIMUS_WIP_PROVIDER
  repository_id = var.PRIMUS_ARTIFACT_REPOSITORY

  image_repository = "${var.PRIMUS_PROJECT_REPOSITORY_REGION}-docker.pkg.dev/${var.PRIMUS_PROJECT_ID}/${local.repository_id}/${var.WORKLOAD_IMAGE_NAME}"
  workload_sa      = "${var.WORKLOAD_SERVICEACCOUNT}@${var.SECUNDUS_PROJECT_ID}.iam.gserviceaccount.com"
  # The Secundus function that reads the latest pin (its account id is fixed in the Secundus root).
  schedule_run_sa = "cspipe-schedule-run@${var.SECUNDUS_PROJECT_ID}.iam.gserviceaccount.com"

  provider_name = "projects/${var.PRIMUS_PROJECT_NUMBER}/locations/global/workloadIdentityPools/${local.pool_id}/providers/${local.provider_id}"
  pool_members  = "principalSet://iam.googleapis.com/projects/${var.PRIMUS_PROJECT_NUMBER}/locations/global/workloadIdentityPools/${local.pool_id}/*"

  # The provider's initial condition: the same clauses, in the same order, that
  # `cspipe policy render` prints for these inputs (a Go test checks that they agree).
  # PinWorkloadImage owns the condition after the first push.
  initial_condition = join(" && ", [
    "assertion.swname == 'CONFIDENTIAL_SPACE'",
    "assertion.dbgstat == 'disabled-since-boot'",
    "'${var.SUPPORT_ATTRIBUTE}' in assertion.submods.confidential_space.support_attributes",
    "assertion.submods.container.image_digest == '${var.INITIAL_IMAGE_DIGEST}'",
    "assertion.submods.container.image_reference.startsWith('${local.image_repository}@')",
    "'${local.workload_sa}' in assertion.google_service_accounts",
    "(assertion.submods.container.env_override == null || !('CSPIPE_IAMCREDENTIALS_ENDPOINT' in assertion.submods.container.env_override))",
    "(assertion.submods.container.env_override == null || !('CSPIPE_STORAGE_ENDPOINT' in assertion.submods.container.env_override))",
    "(assertion.submods.container.env_override == null || !('CSPIPE_STS_ENDPOINT' in assertion.submods.container.env_override))",
  ])

  # Every API a resource here (or in the modules it calls) needs; a Go test derives the list from
  # the resource types. iamcredentials and sts serve the attested workload's token exchange.
  apis = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
    "sts.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  service            = each.value
  disable_on_destroy = false
}

# ---- Buckets -------------------------------------------------------------------------------

resource "google_storage_bucket" "model" {
  name                        = local.model_bucket
  location                    = var.PRIMUS_PROJECT_REGION
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  versioning {
    enabled = true
  }
  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket" "audit" {
  name                        = local.audit_bucket
  location                    = var.PRIMUS_PROJECT_REGION
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  versioning {
    enabled = true
  }
  depends_on = [google_project_service.apis]
}

# ---- The gate: Workload Identity Pool and its OIDC provider ---------------------------------

resource "google_iam_workload_identity_pool" "pool" {
  workload_identity_pool_id = local.pool_id
  display_name              = "cspipe attested workloads"
  depends_on                = [google_project_service.apis]
}

resource "google_iam_workload_identity_pool_provider" "attestation" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.pool.workload_identity_pool_id
  workload_identity_pool_provider_id = local.provider_id
  display_name                       = "Confidential Space"
  attribute_mapping = {
    "google.subject" = "\"gcpcs::\" + assertion.submods.container.image_digest + \"::\" + assertion.submods.gce.project_number + \"::\" + assertion.submods.gce.instance_id"
  }
  attribute_condition = local.initial_condition
  oidc {
    issuer_uri        = "https://confidentialcomputing.googleapis.com/"
    allowed_audiences = ["https://sts.googleapis.com"]
  }
  lifecycle {
    # PinWorkloadImage re-pins the digest on every push; Terraform must not undo it.
    ignore_changes = [attribute_condition]
  }
}

# ---- primus-sa: the only principal that can read the model ----------------------------------

resource "google_service_account" "primus" {
  account_id   = local.primus_sa_id
  display_name = "Model reader, impersonated by attested workloads only"
}

resource "google_storage_bucket_iam_member" "primus_reads_models" {
  bucket = google_storage_bucket.model.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.primus.email}"
}

resource "google_service_account_iam_member" "pool_impersonates_primus" {
  service_account_id = google_service_account.primus.name
  role               = "roles/iam.workloadIdentityUser"
  member             = local.pool_members
}

# ---- Workload image repository and its push notifications ------------------------------------

resource "google_artifact_registry_repository" "workload" {
  location      = var.PRIMUS_PROJECT_REPOSITORY_REGION
  repository_id = local.repository_id
  format        = "DOCKER"
  depends_on    = [google_project_service.apis]
}

# The Confidential Space VM pulls the image as the operator's workload service account.
resource "google_artifact_registry_repository_iam_member" "workload_pulls" {
  location   = google_artifact_registry_repository.workload.location
  repository = google_artifact_registry_repository.workload.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${local.workload_sa}"
}

# Artifact Registry publishes pushes to the topic named `gcr` in its project. That topic may
# already exist (another registry user made it): set GCR_TOPIC_EXISTS=true to use it as it is.
# Terraform then only reads it, adds the grants below and never deletes it on destroy.
resource "google_pubsub_topic" "gcr" {
  count      = var.GCR_TOPIC_EXISTS ? 0 : 1
  name       = "gcr"
  depends_on = [google_project_service.apis]
}

# Deployments made before the topic took a count keep it (no destroy and re-create).
moved {
  from = google_pubsub_topic.gcr
  to   = google_pubsub_topic.gcr[0]
}

data "google_pubsub_topic" "gcr" {
  count      = var.GCR_TOPIC_EXISTS ? 1 : 0
  name       = "gcr"
  depends_on = [google_project_service.apis]
}

locals {
  gcr_topic_id = var.GCR_TOPIC_EXISTS ? data.google_pubsub_topic.gcr[0].id : google_pubsub_topic.gcr[0].id
  # Artifact Registry's service agent, the publisher of push notifications.
  artifact_registry_agent = "serviceAccount:service-${var.PRIMUS_PROJECT_NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com"
}

# Only Artifact Registry's service agent publishes on `gcr`: a push notification re-pins the
# digest the gate admits, so no one else may forge one.
resource "google_pubsub_topic_iam_member" "registry_publishes_pushes" {
  topic  = local.gcr_topic_id
  role   = "roles/pubsub.publisher"
  member = local.artifact_registry_agent
  # The agent exists once the API is on and the first repository is made.
  depends_on = [google_artifact_registry_repository.workload]
}

resource "google_pubsub_topic" "gcr_dead_letter" {
  name       = "gcr-dead-letter"
  depends_on = [google_project_service.apis]
}
