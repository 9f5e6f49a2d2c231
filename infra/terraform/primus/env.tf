# Each function's environment: exactly the variables its Config reads (a Go test checks both
# directions). Endpoint overrides (CSPIPE_*_ENDPOINT) are for the local stack and stay unset.

locals {
  pin_env = {
    CSPIPE_WIP_PROVIDER              = local.provider_name
    CSPIPE_IMAGE_REPOSITORY          = local.image_repository
    CSPIPE_WORKLOAD_SERVICE_ACCOUNTS = local.workload_sa
    CSPIPE_SUPPORT_ATTRIBUTE         = var.SUPPORT_ATTRIBUTE
    CSPIPE_AUDIT_BUCKET              = local.audit_bucket
    CSPIPE_MAX_EVENT_AGE             = var.MAX_EVENT_AGE
    CSPIPE_PIN_ENV_OVERRIDES         = var.PIN_ENV_OVERRIDES
    CSPIPE_PIN_RESTART_POLICY        = var.PIN_RESTART_POLICY
    CSPIPE_ALLOW_DEBUG_IMAGE_UNSAFE  = "false"
    # Empty: the condition refuses a workload that overrides these endpoints at all (it then
    # talks to Google's own STS, IAM Credentials and Cloud Storage).
    CSPIPE_PIN_STS_ENDPOINT            = ""
    CSPIPE_PIN_IAMCREDENTIALS_ENDPOINT = ""
    CSPIPE_PIN_STORAGE_ENDPOINT        = ""
  }

  register_env = {
    CSPIPE_MODEL_BUCKET      = local.model_bucket
    CSPIPE_MODEL_SUFFIXES    = ".tar.gz,.tgz"
    CSPIPE_MAX_ARCHIVE_BYTES = var.MAX_ARCHIVE_BYTES
    CSPIPE_MAX_EVENT_AGE     = var.MAX_EVENT_AGE
  }
}
