// Package pinimage is the PinWorkloadImage Cloud Function (Primus). It is triggered by
// google.cloud.pubsub.topic.v1.messagePublished on the Artifact Registry `gcr` topic, and for an
// INSERT of the configured workload image it resolves the digest in the repository with its own
// identity, pins it into the workload identity pool provider's attribute condition and appends a
// record to the audit log (see package pin for the rules: refusal of absent digests and of events
// dated in the future, ordering by publish time capped at receipt, no second PATCH for a pinned
// digest, drift repair, a new audit segment over a corrupt log).
//
// Deployed, init registers EntryPoint with the Functions Framework; the configuration is read
// from the environment and the clients are built once, on the first event. In-process (the
// local stack, tests), call New with a Config and injected Deps (a pin.Provider such as
// pin.NewIAMProvider over an iam/v1 service pointed at a local endpoint, and a blob.Store for
// the audit bucket) and serve Function.Handle.
package pinimage
