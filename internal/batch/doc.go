// Package batch decides which Workflows execution ("run") each uploaded image belongs to. It is
// the core of the ScheduleRun function and is built on Cloud Storage generation preconditions
// only: function instances are many, short-lived and see every event at least once, so no state
// is kept in memory between events.
//
// # Batches
//
// Time is cut into fixed windows of Options.Window. An image belongs to the batch of the window
// that contains the moment its event was first processed (its claim time), not its upload time.
// The batch id is the window's start in UTC ("20061102-150405"); the run id is "batch-" + batch id.
//
// # State (all in the input bucket under _cspipe/)
//
//	_cspipe/claims/<escaped name>#<generation>          who claimed this object version, for which batch
//	_cspipe/batches/<batch_id>/items/<escaped name>#<generation>   {"bucket","name","generation"}
//	_cspipe/batches/<batch_id>/run.json                 the run's state: pending → started
//
// Names are escaped with url.PathEscape so a slash in an object name cannot step out of a prefix.
//
// # Steps for one finalize event
//
//  1. Ignore what is not ours: another bucket, the pipeline's own prefixes (_cspipe/, runs/),
//     folder placeholders, and objects that are not images by content type or file name.
//  2. Claim: create the claim object with DoesNotExist, naming the batch of the current window.
//     If it exists (a duplicate, or a redelivery after a crash), read it: the claim is the only
//     authority on the object's batch, so every image belongs to exactly one batch.
//  3. Item: create the batch item with DoesNotExist (an existing one is fine).
//  4. Run: read run.json; if absent, create it with DoesNotExist in state "pending" holding a
//     lease. Exactly one event wins that create and calls CreateExecution; it then rewrites
//     run.json to "started" (with the execution name) under GenerationMatch.
//
// Every step is idempotent, so a redelivery after a crash between any two steps completes the
// missing ones and repeats nothing.
//
// # Starting the execution exactly once
//
// A "pending" run.json carries a lease (holder = the claim that holds it, lease_until). While the
// lease is fresh, other events of the batch ack and do nothing: the holder's own event is
// redelivered by the platform if the holder fails. A redelivery of the holder's own event that
// finds its lease still fresh returns a retryable error (the first attempt may still be running).
// When CreateExecution fails, the holder releases the lease and returns a retryable error, so its
// redelivery or the next event of the batch takes over at once. A takeover (any event finding an
// expired lease) rewrites run.json under GenerationMatch, so only one event takes over; before
// creating an execution it asks the Executions API for one labelled with the run id, which covers
// a holder that created the execution and crashed before recording it.
//
// The execution's argument carries not_before = window end + Options.Grace: the workflow sleeps
// until then, so the items of the batch are complete when the workload lists them.
//
// # Late items
//
// An item is written to its claimed batch only until the item deadline, window end + Grace/2. A
// delivery that finds its claim but no item after that deadline (it crashed or stalled between
// claim and item for longer than Grace/2) moves the claim, under GenerationMatch, to the batch
// of the current window and writes the item there. So an image is never lost to a sealed batch;
// the guarantee is that any item write started before the deadline finishes within the other
// Grace/2. Only a delivery that stalls for more than Grace/2 between its deadline check and its
// item write can put an image into two batches (processed twice, never lost).
//
// # Limits
//
// If every delivery of the lease holder's event is dropped (for example by the event age cutoff)
// and no other event of that batch arrives after the lease expired, the run stays "pending";
// `run.json` shows it.
package batch
