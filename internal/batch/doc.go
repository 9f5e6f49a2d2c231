// Package batch decides which Workflows execution ("run") each uploaded image belongs to. It is
// the core of the ScheduleRun function and is built on Cloud Storage generation preconditions
// only: function instances are many, short-lived and see every event at least once, so no state
// is kept in memory between events, and no database is involved.
//
// # The batching rule
//
// A batch opens with the first upload after the previous batch was sealed, and its run starts
// at once. The run's workflow waits while uploads keep arriving and seals the batch when no
// upload arrived for Options.Quiet, or when Options.MaxWait has passed since it started, or when
// the batch holds Options.MaxItems items, whichever comes first. Then it counts the items and
// boots ceil(items / ImagesPerShard) VMs (at most MaxShards). An upload that arrives after the
// seal opens the next batch. So one burst is one run, whenever it starts and however long it
// lasts (up to MaxWait), and a quiet gap of Quiet separates runs:
//
//	uploads     ||||| |||| ||| |  |||                         |||  |
//	            ^first upload: batch A opens, run A starts (waits)
//	                                  ^last upload of A
//	                                  |<-- Quiet -->|
//	                                                ^seal A: count items, boot shards, classify
//	                                                          ^first upload after the seal:
//	                                                           batch B opens, run B starts
//	time  ───────────────────────────────────────────────────────────────────────────────►
//
// # State (all in the state bucket, never in the user's input bucket)
//
//	head.json                                  the batch uploads join now: {batch_id, seq, state
//	                                           open|sealed, opened_at, sealed_at, unfinished[]}
//	claims/<escaped name>#<generation>         who claimed this object version, for which batch
//	batches/<batch_id>/items/<escaped name>#<generation>   {"bucket","name","generation"}
//	batches/<batch_id>/run.json                the run: pending → started → finished | failed
//	batches/<batch_id>/plan.json               written by the workflow after the seal: {items, shard_count}
//
// Names are escaped with url.PathEscape so a slash in an object name cannot step out of a prefix.
// A batch id is "<opening time, UTC>-<seq>" (20261128-210000-7); the run id is "batch-" + batch id.
//
// # Steps for one finalize event
//
//  1. Ignore what is not ours: another bucket, results (runs/) and an old deployment's _cspipe/,
//     folder placeholders, and objects that are not images by content type or file name.
//  2. Read the head. If it is open, claim the object for that batch (create the claim with
//     DoesNotExist). If no batch is open, look for an existing claim first (a duplicate of an old
//     event must not open an empty batch), then open the next batch by rewriting the head under
//     GenerationMatch (or DoesNotExist): exactly one event wins, the others re-read and join it.
//     An existing claim is the only authority on the object's batch.
//  3. Write the item into the claimed batch with DoesNotExist, if that batch is still the open
//     one and the event saw it open less than settle/2 ago (see Sealing).
//  4. Run: read run.json; if absent, create it with DoesNotExist in state "pending" holding a
//     lease. Exactly one event wins that create and calls CreateExecution; it then rewrites
//     run.json to "started" (with the execution name) under GenerationMatch.
//
// Every step is idempotent, so a redelivery after a crash between any two steps completes the
// missing ones and repeats nothing. The head is written once per batch by an event, once by the
// workflow (the seal) and rarely by the sweeper, so a burst does not meet Cloud Storage's limit
// of about one write per second to one object.
//
// # Sealing
//
// The workflow (launch.yaml, wait_batch) counts the batch's items every poll (a third of Quiet)
// and remembers when the count last changed. When it decides to close, it rewrites the head from
// "open" to "sealed" under GenerationMatch, waits settle (Quiet/2 within 2..10 s), counts the
// items for good, writes plan.json and boots the shards. An event that read the head as open at
// t0 writes its item before t0 + settle/2, otherwise it reads the head again; the seal it missed
// happened after t0, and the final count happens at least settle after the seal, so every item
// written into a batch exists when the batch is counted and listed. An event that finds its
// claimed batch sealed without its item moves the claim (GenerationMatch) to the open batch, or
// opens one, and writes the item there: a late upload starts the next batch and is never lost.
// Only a write that itself takes longer than settle/2 can land after the count, and only two
// deliveries of one event racing a seal can put one image into two batches (processed twice,
// never lost).
//
// # Starting the execution exactly once
//
// A "pending" run.json carries a lease (holder = the claim that holds it, lease_until). While the
// lease is fresh, other events of the batch ack and do nothing: the holder's own event is
// redelivered by the platform if the holder fails. A redelivery of the holder's own event that
// finds its lease still fresh returns a retryable error (the first attempt may still be running).
// When CreateExecution fails, the holder releases the lease and returns a retryable error, so its
// redelivery or the next event of the batch takes over at once. A takeover (any event, or the
// sweeper, finding an expired lease) rewrites run.json under GenerationMatch, so only one takes
// over; before creating an execution it asks the Executions API for a live one labelled with the
// run id, which covers a holder that created the execution and crashed before recording it.
//
// # Sweeper
//
// Head.Unfinished lists the batches whose runs are not known to be over. Sweep (run by the event
// that opens a batch, by any event that finds the open batch overdue, and on a timer: SweepRuns
// on Google Cloud, a goroutine in the local stack) resumes a run whose start was abandoned (expired lease) or whose execution died before
// sealing, and fails with a message a run that cannot go on: out of attempts, or its execution
// failed, was cancelled or vanished after the seal, or its execution succeeded but a shard
// still has no summary. Failing writes a "failed" summary (source
// "sweeper", the reason in error) for every shard that has none, which PublishResults sends to
// the results topic, and seals the batch so later uploads open a new one.
//
// Once a run is over (finished or failed, its execution ended however it ended), the sweeper
// deletes the run's VMs that still exist (Options.VMs): the workflow deletes every VM it created,
// but not when its delete failed for good, and Cloud Workflows runs no cleanup for a cancelled or
// crashed execution, so such a VM would run until its maxRunDuration (timeout + 30 min), paid
// for, and could write results behind the failed summary already published. It reads each
// shard's VM by the name launch.yaml gives it (VMName; shard count from plan.json, else 1) and
// deletes it only if its tee-env-CSPIPE_RUN_ID and tee-env-CSPIPE_SHARD_INDEX metadata are the
// run's and shard's; a 404 is "gone". What it deleted is in SweepReport.DeletedVMs. A batch
// leaves Head.Unfinished only when its end is recorded and its VMs are gone, so a failed
// delete is retried at the next sweep.
package batch
