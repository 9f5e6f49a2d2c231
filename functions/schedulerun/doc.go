// Package schedulerun is the ScheduleRun Cloud Function (Secundus): on every finalize in the
// input bucket it adds the image to the open batch (opening one if none is) and makes sure
// exactly one Workflows execution runs that batch (see internal/batch and docs/batching.md). Its
// bookkeeping lives in a state bucket (CSPIPE_STATE_BUCKET), never in the user's bucket. The same
// package is deployed a second time as SweepRuns, run by a Cloud Scheduler tick, which resumes or
// fails runs that died (Function.Sweep).
//
// Deployed, init only registers EntryPoint with functions-framework-go; the first event reads
// Config from the environment once and builds the Cloud Storage and Executions clients. The
// local stack instead builds the function in-process with its own endpoints:
//
//	f, err := schedulerun.New(cfg, schedulerun.Deps{
//		Store:      blob.NewGCS(storageClient),        // the state and results buckets
//		Executions: workflowexec.New(executionsClient), // e.g. workflowexec.Dial(ctx, "127.0.0.1:PORT")
//	})
//	// serve f.Handle(ctx, event.Event) error as a CloudEvent function
package schedulerun
