output "input_bucket" {
  value = google_storage_bucket.input.name
}

output "results_bucket" {
  value = google_storage_bucket.results.name
}

output "results_topic" {
  value = google_pubsub_topic.results.id
}

output "results_subscription" {
  value = google_pubsub_subscription.results.id
}

output "workload_service_account" {
  value = google_service_account.workload.email
}

output "workflow" {
  value = local.workflow_resource
}
