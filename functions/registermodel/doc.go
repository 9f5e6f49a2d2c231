// Package registermodel is the RegisterModel Cloud Function (Primus). It is triggered by
// google.cloud.storage.object.v1.finalized in the model bucket, streams the new archive once
// through archive.Validate and writes `<object>.manifest.json` (records.Manifest) next to it:
// status "accepted" with the archive's sha256, or "rejected" with the reason. Nothing is ever
// deleted.
//
// Writes are idempotent under at-least-once delivery: the manifest is created with a
// DoesNotExist precondition, a redelivered event for a generation that already has a manifest
// does nothing, and a newer generation of the model replaces the old manifest with a
// GenerationMatch precondition on it. An event for a generation that has since been replaced
// is acked and ignored (the newer generation has its own event).
//
// Deployed, init registers EntryPoint with the Functions Framework; the configuration is read
// from the environment and the storage client built once, on the first event. In-process (the
// local stack, tests), call New with a Config and injected Deps and serve Function.Handle.
package registermodel
