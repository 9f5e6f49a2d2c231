package pinimage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	iam "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"

	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/envconfig"
	"github.com/cspipe/cspipe/internal/events"
	"github.com/cspipe/cspipe/internal/fnutil"
	"github.com/cspipe/cspipe/internal/pin"
)

// EntryPoint is the name the function is registered and deployed under.
const EntryPoint = "PinWorkloadImage"

// Timeout is how long one invocation may run when deployed (the Terraform module's timeout_seconds);
// the local stack gives each invocation the same deadline.
const Timeout = 2 * time.Minute

// Config is the function's configuration, read from the environment once.
type Config struct {
	// Provider is the provider's full resource name,
	// projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROV.
	Provider string `env:"CSPIPE_WIP_PROVIDER" required:"true"`
	// ImageRepository is the workload image, HOST/PROJECT/REPO/IMAGE.
	ImageRepository string `env:"CSPIPE_IMAGE_REPOSITORY" required:"true"`
	// ServiceAccounts are the operator's workload service accounts (comma-separated).
	ServiceAccounts []string `env:"CSPIPE_WORKLOAD_SERVICE_ACCOUNTS" required:"true"`
	// SupportAttribute is the Confidential Space image support attribute required.
	SupportAttribute string `env:"CSPIPE_SUPPORT_ATTRIBUTE" default:"STABLE"`
	// AuditBucket holds the pin audit log.
	AuditBucket string `env:"CSPIPE_AUDIT_BUCKET" required:"true"`
	// IAMEndpoint overrides the IAM API endpoint (the local stack sets it).
	IAMEndpoint string `env:"CSPIPE_IAM_ENDPOINT"`
	// MaxEventAge drops events older than this (0: never).
	MaxEventAge time.Duration `env:"CSPIPE_MAX_EVENT_AGE" default:"24h"`
	// EnvOverrides optionally pins tee-env values, as NAME=value pairs (comma-separated).
	EnvOverrides []string `env:"CSPIPE_PIN_ENV_OVERRIDES"`
	// RestartPolicy optionally pins the restart policy (Never, Always, OnFailure).
	RestartPolicy string `env:"CSPIPE_PIN_RESTART_POLICY"`
	// The workload endpoints a token's trust rests on. The condition refuses a token whose
	// workload overrode CSPIPE_STS_ENDPOINT, CSPIPE_IAMCREDENTIALS_ENDPOINT or
	// CSPIPE_STORAGE_ENDPOINT to anything but these values; empty (the default, right on Google
	// Cloud) means the workload must not override it at all.
	PinSTSEndpoint            string `env:"CSPIPE_PIN_STS_ENDPOINT"`
	PinIAMCredentialsEndpoint string `env:"CSPIPE_PIN_IAMCREDENTIALS_ENDPOINT"`
	PinStorageEndpoint        string `env:"CSPIPE_PIN_STORAGE_ENDPOINT"`
	// AllowDebugImageUnsafe admits the Confidential Space debug image. Never for production data.
	AllowDebugImageUnsafe bool `env:"CSPIPE_ALLOW_DEBUG_IMAGE_UNSAFE" default:"false"`
}

// Settings converts the configuration into the pin core's settings.
func (c Config) Settings() (pin.Settings, error) {
	s := pin.Settings{Provider: c.Provider, ImageRepository: c.ImageRepository, ServiceAccounts: c.ServiceAccounts,
		SupportAttribute: c.SupportAttribute, RestartPolicy: c.RestartPolicy, AllowDebugImageUnsafe: c.AllowDebugImageUnsafe,
		PinnedEndpoints: map[string]string{
			"CSPIPE_STS_ENDPOINT":            c.PinSTSEndpoint,
			"CSPIPE_IAMCREDENTIALS_ENDPOINT": c.PinIAMCredentialsEndpoint,
			"CSPIPE_STORAGE_ENDPOINT":        c.PinStorageEndpoint,
		}}
	for _, kv := range c.EnvOverrides {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return pin.Settings{}, fmt.Errorf("CSPIPE_PIN_ENV_OVERRIDES: %q is not NAME=value", kv)
		}
		if s.EnvOverrides == nil {
			s.EnvOverrides = map[string]string{}
		}
		s.EnvOverrides[name] = value
	}
	return s, nil
}

// Deps are the function's clients, built by the caller.
type Deps struct {
	// Provider is the workload identity pool provider (pin.NewIAMProvider in production).
	Provider pin.Provider
	// Registry resolves pushed digests with the function's own identity
	// (pin.NewRemoteRegistry(remote.WithAuthFromKeychain(google.Keychain)) in production).
	Registry pin.Registry
	// Store holds the audit bucket.
	Store blob.Store
	// Log defaults to a JSON logger on stderr.
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Function pins workload image digests. Build it with New.
type Function struct {
	cfg    Config
	pinner *pin.Pinner
	log    *slog.Logger
}

// New validates cfg (by rendering a condition) and returns the function.
func New(cfg Config, deps Deps) (*Function, error) {
	if deps.Provider == nil || deps.Store == nil || deps.Registry == nil {
		return nil, errors.New("pinimage: Deps.Provider, Deps.Registry and Deps.Store are required")
	}
	s, err := cfg.Settings()
	if err != nil {
		return nil, err
	}
	p, err := pin.New(s, pin.Deps{Provider: deps.Provider, Registry: deps.Registry,
		Audit: audit.New(deps.Store, cfg.AuditBucket), Now: deps.Now})
	if err != nil {
		return nil, err
	}
	log := deps.Log
	if log == nil {
		log = fnutil.NewLogger(os.Stderr, EntryPoint, slog.LevelInfo)
	}
	return &Function{cfg: cfg, pinner: p, log: log}, nil
}

// Handle is the CloudEvent entry point: decode the notification, pin, map the error
// (permanent: ack; otherwise: redeliver).
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	return fnutil.Handle(ctx, f.log, e, f.cfg.MaxEventAge, func(ctx context.Context, log *slog.Logger) error {
		n, err := events.GCRFromEvent(e)
		if err != nil {
			return err
		}
		log = log.With("action", n.Action, "repository", n.Repository, fnutil.KeyImageDigest, n.Digest)
		res, err := f.pinner.Pin(ctx, n, e.ID())
		if err != nil {
			return err
		}
		level := slog.LevelInfo
		if res.Outcome == pin.Refused || res.Break != "" {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "image event handled", "outcome", string(res.Outcome), "reason", res.Reason,
			"repaired", res.Repaired, "audit_record", res.Record, "audit_break", res.Break)
		return nil
	})
}

func init() {
	functions.CloudEvent(EntryPoint, fnutil.Deployed(EntryPoint, func(ctx context.Context) (fnutil.Handler, error) {
		return fromEnv(ctx, os.Getenv)
	}))
}

// fromEnv reads the configuration and builds the production clients.
func fromEnv(ctx context.Context, getenv envconfig.Getenv) (*Function, error) {
	var cfg Config
	if err := envconfig.Load(&cfg, getenv); err != nil {
		return nil, err
	}
	var opts []option.ClientOption
	if cfg.IAMEndpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.IAMEndpoint))
	}
	svc, err := iam.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("iam client: %w", err)
	}
	sc, err := storage.NewClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("storage client: %w", err)
	}
	reg := pin.NewRemoteRegistry(remote.WithAuthFromKeychain(google.Keychain))
	return New(cfg, Deps{Provider: pin.NewIAMProvider(svc, cfg.Provider), Registry: reg, Store: blob.NewGCS(sc)})
}
