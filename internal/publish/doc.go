// Package publish is the core of the PublishResults function: when a shard's summary.json is
// finalized in the results bucket, it announces the shard's results on Pub/Sub, one message per
// image (data: the results.jsonl line) and then one summary message (data: summary.json), all
// with ordering key run_id so a subscriber with ordering enabled sees a run's messages in order.
//
// # Publishing once under at-least-once delivery
//
// Progress lives next to the results, in <prefix>published.json (Marker), changed only under
// generation preconditions:
//
//   - The first delivery creates the marker (DoesNotExist) holding a lease with a random holder
//     token, then streams results.jsonl line by line (bounded memory), publishing in chunks of
//     Options.Chunk. After the Pub/Sub server confirmed a whole chunk, the marker's count of
//     published lines is advanced (GenerationMatch), which also renews the lease.
//   - After the last line, the summary message is published and the marker is marked done.
//   - A redelivery that finds the marker done does nothing. One that finds a fresh lease held by
//     another delivery returns a retryable error (that delivery may still fail). One that finds
//     an expired lease takes it over (GenerationMatch, so only one does) and resumes after the
//     last confirmed line.
//
// So nothing confirmed is published twice. The one window left is a crash after Pub/Sub
// confirmed a chunk and before the marker recorded it: the resumed delivery republishes that
// chunk (at most Options.Chunk messages, or the summary). Every message carries the "index"
// attribute (AttrIndex, the line's 0-based position; "summary" for the summary) so a subscriber
// can drop such repeats by (run_id, shard, index).
//
// A summary with status "failed" and no results.jsonl (the workflow writes these for shards that
// never ran) publishes only the summary message. A summary that reports images but whose
// results.jsonl is missing (deleted, or never written) is published anyway, as failed: its status
// becomes "failed" and its error starts with "results_missing:" and names the file, so the shard
// never goes unannounced (Result.MissingResults).
package publish
