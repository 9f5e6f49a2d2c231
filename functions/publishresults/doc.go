// Package publishresults is the PublishResults Cloud Function (Secundus): when a shard's
// runs/<run_id>[/shard-NNN]/summary.json is finalized in the results bucket, it publishes one
// Pub/Sub message per image and one run summary, ordering key run_id, exactly once in effect
// (see internal/publish). Every other object is acked and ignored.
//
// Deployed, init only registers EntryPoint with functions-framework-go; the first event reads
// Config from the environment once and builds the Cloud Storage and Pub/Sub clients
// (PUBSUB_EMULATOR_HOST and STORAGE_EMULATOR_HOST are honoured by those libraries). The local
// stack builds the function in-process with its own clients:
//
//	p := pubsubClient.Publisher(topicID)
//	f, err := publishresults.New(cfg, publishresults.Deps{
//		Store: blob.NewGCS(storageClient),
//		Topic: pubsubtopic.New(p), // enables message ordering on p
//	})
//	// serve f.Handle(ctx, event.Event) error as a CloudEvent function; p.Stop() at shutdown
package publishresults
