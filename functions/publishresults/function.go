package publishresults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/envconfig"
	"github.com/cspipe/cspipe/internal/events"
	"github.com/cspipe/cspipe/internal/fnutil"
	"github.com/cspipe/cspipe/internal/publish"
	"github.com/cspipe/cspipe/internal/publish/pubsubtopic"
)

// EntryPoint is the name the function is registered and deployed under.
const EntryPoint = "PublishResults"

// Timeout is how long one invocation may run when deployed (the Terraform module's timeout_seconds);
// the local stack gives each invocation the same deadline.
const Timeout = 9 * time.Minute

// Config is the function's configuration, read from the environment once.
type Config struct {
	// ResultsBucket is the bucket whose summaries are announced; events for others are ignored.
	ResultsBucket string `env:"CSPIPE_RESULTS_BUCKET" required:"true"`
	// Project is the Pub/Sub project of the results topic.
	Project string `env:"CSPIPE_PROJECT" required:"true"`
	// ResultsTopic is the topic id, or projects/P/topics/T.
	ResultsTopic string `env:"CSPIPE_RESULTS_TOPIC" required:"true"`
	// PublishChunk is how many messages are confirmed between progress-marker updates.
	PublishChunk int `env:"CSPIPE_PUBLISH_CHUNK" default:"100"`
	// PublishLease is how long one delivery owns a shard's publication without progress.
	PublishLease time.Duration `env:"CSPIPE_PUBLISH_LEASE" default:"2m"`
	// MaxEventAge drops events older than this (0: never).
	MaxEventAge time.Duration `env:"CSPIPE_MAX_EVENT_AGE" default:"24h"`
}

// Deps are the function's clients, built by the caller.
type Deps struct {
	// Store reaches the results bucket.
	Store blob.Store
	// Topic publishes to the results topic (pubsubtopic.New over a pubsub/v2 Publisher).
	Topic publish.Topic
	// Log defaults to a JSON logger on stderr.
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Function announces results. Build it with New.
type Function struct {
	cfg Config
	pub *publish.Publisher
	log *slog.Logger
}

// New checks cfg and returns a Function over deps.
func New(cfg Config, deps Deps) (*Function, error) {
	if deps.Store == nil || deps.Topic == nil {
		return nil, errors.New("publishresults: Store and Topic are required")
	}
	if cfg.PublishChunk < 1 || cfg.PublishChunk > 1000 {
		return nil, fmt.Errorf("publishresults: CSPIPE_PUBLISH_CHUNK %d is outside 1..1000", cfg.PublishChunk)
	}
	p, err := publish.New(deps.Store, deps.Topic, publish.Options{ResultsBucket: cfg.ResultsBucket,
		Chunk: cfg.PublishChunk, Lease: cfg.PublishLease, Now: deps.Now})
	if err != nil {
		return nil, fmt.Errorf("publishresults: %w", err)
	}
	log := deps.Log
	if log == nil {
		log = fnutil.NewLogger(os.Stderr, EntryPoint, slog.LevelInfo)
	}
	return &Function{cfg: cfg, pub: p, log: log}, nil
}

// Handle is the CloudEvent entry point: decode the finalize event, publish the shard's results,
// map the error (permanent: ack; otherwise: redeliver).
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	return fnutil.Handle(ctx, f.log, e, f.cfg.MaxEventAge, func(ctx context.Context, log *slog.Logger) error {
		obj, err := events.ObjectFinalized(e)
		if err != nil {
			return err
		}
		log = log.With(fnutil.KeyBucket, obj.Bucket, fnutil.KeyObject, obj.Name, fnutil.KeyGeneration, obj.Generation)
		res, err := f.pub.Publish(ctx, publish.Object{Bucket: obj.Bucket, Name: obj.Name, Generation: obj.Generation})
		if res.RunID != "" {
			log = log.With(fnutil.KeyRunID, res.RunID)
		}
		if err != nil {
			return err
		}
		switch {
		case res.Ignored:
			log.InfoContext(ctx, "object ignored", "reason", res.Reason)
		case res.Duplicate:
			log.InfoContext(ctx, "results already published", "shard", res.Shard)
		case res.MissingResults:
			log.WarnContext(ctx, "run failed: summary published as failed, its results.jsonl is missing",
				"shard", res.Shard, "summary", res.Summary)
		default:
			log.InfoContext(ctx, "results published", "shard", res.Shard, "images", res.Images,
				"resumed_after", res.Resumed, "skipped_lines", res.Skipped, "summary", res.Summary)
		}
		return nil
	})
}

func init() {
	functions.CloudEvent(EntryPoint, fnutil.Deployed(EntryPoint, func(ctx context.Context) (fnutil.Handler, error) {
		return fromEnv(ctx, os.Getenv)
	}))
}

// topicID accepts a topic id or projects/P/topics/T (whose project must be cfg.Project).
func (c Config) topicID() (string, error) {
	if !strings.Contains(c.ResultsTopic, "/") {
		return c.ResultsTopic, nil
	}
	p := strings.Split(c.ResultsTopic, "/")
	if len(p) != 4 || p[0] != "projects" || p[2] != "topics" || p[3] == "" || p[1] != c.Project {
		return "", fmt.Errorf("CSPIPE_RESULTS_TOPIC %q is not a topic id or projects/%s/topics/T", c.ResultsTopic, c.Project)
	}
	return p[3], nil
}

// fromEnv reads Config and builds the production clients.
func fromEnv(ctx context.Context, getenv envconfig.Getenv) (*Function, error) {
	var cfg Config
	if err := envconfig.Load(&cfg, getenv); err != nil {
		return nil, err
	}
	topic, err := cfg.topicID()
	if err != nil {
		return nil, err
	}
	sc, err := storage.NewClient(ctx, storage.WithJSONReads())
	if err != nil {
		return nil, fmt.Errorf("storage client: %w", err)
	}
	pc, err := pubsub.NewClient(ctx, cfg.Project)
	if err != nil {
		sc.Close()
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	f, err := New(cfg, Deps{Store: blob.NewGCS(sc), Topic: pubsubtopic.New(pc.Publisher(topic))})
	if err != nil {
		sc.Close()
		pc.Close()
		return nil, err
	}
	return f, nil
}
