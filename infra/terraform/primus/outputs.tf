output "provider_name" {
  description = "Full resource name of the WIP provider (the workload's CSPIPE_WIP_PROVIDER)."
  value       = local.provider_name
}

output "model_bucket" {
  value = google_storage_bucket.model.name
}

output "audit_bucket" {
  value = google_storage_bucket.audit.name
}

output "primus_service_account" {
  value = google_service_account.primus.email
}

output "image_repository" {
  description = "Where `make image REGISTRY=...` pushes; the push re-pins the digest."
  value       = local.image_repository
}

output "initial_condition" {
  value = local.initial_condition
}
