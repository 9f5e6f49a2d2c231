# Each function's environment: exactly the variables its Config reads (a Go test checks both
# directions). Endpoint overrides (CSPIPE_*_ENDPOINT) are for the local stack and stay unset.

locals {
  schedule_env = {
    CSPIPE_INPUT_BUCKET             = local.input_bucket
    CSPIPE_STATE_BUCKET             = local.state_bucket
    CSPIPE_BATCH_QUIET              = var.batch_quiet
    CSPIPE_BATCH_MAX_WAIT           = var.batch_max_wait
    CSPIPE_BATCH_MAX_ITEMS          = tostring(var.batch_max_items)
    CSPIPE_IMAGES_PER_SHARD         = tostring(var.images_per_shard)
    CSPIPE_MAX_SHARDS               = tostring(var.max_shards)
    CSPIPE_START_LEASE              = "2m"
    CSPIPE_WORKFLOW                 = local.workflow_resource
    CSPIPE_PROJECT                  = var.SECUNDUS_PROJECT_ID
    CSPIPE_ZONE                     = var.SECUNDUS_PROJECT_ZONE
    CSPIPE_MACHINE_TYPE             = var.WORKLOAD_MACHINE_TYPE
    CSPIPE_NETWORK                  = var.network
    CSPIPE_SUBNETWORK               = var.subnetwork
    CSPIPE_EXTERNAL_IP              = tostring(var.external_ip)
    CSPIPE_WORKLOAD_SERVICE_ACCOUNT = "${var.WORKLOAD_SERVICEACCOUNT}@${var.SECUNDUS_PROJECT_ID}.iam.gserviceaccount.com"
    CSPIPE_RESULTS_BUCKET           = local.results_bucket
    CSPIPE_MODEL                    = "gs://${local.model_bucket}/${var.MODEL_OBJECT}"
    CSPIPE_MODEL_SHA256             = var.MODEL_SHA256
    CSPIPE_WIP_PROVIDER             = local.provider_name
    CSPIPE_PRIMUS_SERVICE_ACCOUNT   = local.primus_sa
    CSPIPE_RUN_TIMEOUT              = "${var.RUN_TIMEOUT_SECONDS}s"
    CSPIPE_USE_DEBUG_IMAGE_UNSAFE   = var.USE_DEBUG_IMAGE_UNSAFE
    CSPIPE_WORKLOAD_IMAGE           = var.WORKLOAD_IMAGE
    CSPIPE_PIN_POINTER              = "gs://${local.audit_bucket}/pins/latest.json"
    CSPIPE_MAX_EVENT_AGE            = var.MAX_EVENT_AGE
  }

  publish_env = {
    CSPIPE_RESULTS_BUCKET = local.results_bucket
    CSPIPE_PROJECT        = var.SECUNDUS_PROJECT_ID
    CSPIPE_RESULTS_TOPIC  = local.results_topic
    CSPIPE_PUBLISH_CHUNK  = "100"
    CSPIPE_PUBLISH_LEASE  = "2m"
    CSPIPE_MAX_EVENT_AGE  = var.MAX_EVENT_AGE
  }
}
