package registermodel

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/envconfig"
	"github.com/cspipe/cspipe/internal/events"
	"github.com/cspipe/cspipe/internal/fnutil"
)

// EntryPoint is the name the function is registered and deployed under.
const EntryPoint = "RegisterModel"

// Timeout is how long one invocation may run when deployed (the Terraform module's timeout_seconds);
// the local stack gives each invocation the same deadline.
const Timeout = 5 * time.Minute

// Config is the function's configuration, read from the environment once.
type Config struct {
	// ModelBucket is the bucket the function registers models in; events for others are ignored.
	ModelBucket string `env:"CSPIPE_MODEL_BUCKET" required:"true"`
	// ArchiveSuffixes are the object name endings treated as model archives.
	ArchiveSuffixes []string `env:"CSPIPE_MODEL_SUFFIXES" default:".tar.gz,.tgz"`
	// MaxArchiveBytes bounds the archive as stored (archive.Limits.MaxCompressed).
	MaxArchiveBytes int64 `env:"CSPIPE_MAX_ARCHIVE_BYTES" default:"268435456"`
	// MaxEventAge drops events older than this (0: never).
	MaxEventAge time.Duration `env:"CSPIPE_MAX_EVENT_AGE" default:"24h"`
}

// Deps are the function's clients, built by the caller.
type Deps struct {
	Store blob.Store
	// Log defaults to a JSON logger on stderr.
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Function registers model archives. Build it with New.
type Function struct {
	cfg    Config
	store  blob.Store
	log    *slog.Logger
	now    func() time.Time
	limits archive.Limits
}

// New returns a Function over cfg and deps.
func New(cfg Config, deps Deps) *Function {
	f := &Function{cfg: cfg, store: deps.Store, log: deps.Log, now: deps.Now}
	if f.log == nil {
		f.log = fnutil.NewLogger(os.Stderr, EntryPoint, slog.LevelInfo)
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.limits = archive.DefaultLimits()
	if cfg.MaxArchiveBytes > 0 {
		f.limits.MaxCompressed = cfg.MaxArchiveBytes
	}
	return f
}

// Handle is the CloudEvent entry point: decode the finalize event, register the object, map the
// error (permanent: ack; otherwise: redeliver).
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	return fnutil.Handle(ctx, f.log, e, f.cfg.MaxEventAge, func(ctx context.Context, log *slog.Logger) error {
		obj, err := events.ObjectFinalized(e)
		if err != nil {
			return err
		}
		log = log.With(fnutil.KeyBucket, obj.Bucket, fnutil.KeyObject, obj.Name, fnutil.KeyGeneration, obj.Generation)
		out, err := f.Register(ctx, obj)
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "model event handled", "outcome", string(out.Outcome), "status", out.Manifest.Status,
			"sha256", out.Manifest.SHA256, "reason", out.Manifest.Reason)
		return nil
	})
}

// archiveName reports whether name is a model archive this function registers.
func (f *Function) archiveName(name string) bool {
	if strings.HasSuffix(name, ".manifest.json") {
		return false
	}
	if archive.ForeignObject(name) != "" {
		return true // rejected with the conversion to run, so the owner learns what to do
	}
	return f.hasArchiveSuffix(name)
}

func (f *Function) hasArchiveSuffix(name string) bool {
	for _, s := range f.cfg.ArchiveSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func init() {
	functions.CloudEvent(EntryPoint, fnutil.Deployed(EntryPoint, func(ctx context.Context) (fnutil.Handler, error) {
		var cfg Config
		if err := envconfig.Load(&cfg, os.Getenv); err != nil {
			return nil, err
		}
		c, err := storage.NewClient(ctx, storage.WithJSONReads())
		if err != nil {
			return nil, fmt.Errorf("storage client: %w", err)
		}
		return New(cfg, Deps{Store: blob.NewGCS(c)}), nil
	}))
}
