// Command workload is the program in the Confidential Space image (/app/workload). It reads its
// configuration from the environment once, builds its clients (the VM's own identity for
// Secundus's buckets, attested external-account credentials for Primus's model) and runs one
// shard with internal/workload.
//
// TLS: the image carries no CA bundle, so the binary carries public roots
// (golang.org/x/crypto/x509roots/fallback), used when the system offers none.
//
// Exit codes (with tee-restart-policy=Never the VM powers off whatever the code; they matter for
// the launcher's log and for OnFailure policies):
//
//	0  a summary.json was written: the run succeeded, or it failed for a reason the summary states
//	   (bad configuration, refused token, model mismatch, …). Retrying cannot change the outcome.
//	1  no summary could be written (results bucket unreachable, clients could not be built):
//	   the failure may be transient, so a restart may help.
//	2  the configuration is invalid and names no usable results bucket to report it to.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"cloud.google.com/go/storage"
	// Public root CAs compiled into the binary. The image holds only /app/workload and the
	// Confidential Space launcher mounts no CA bundle, so without these every HTTPS call from a
	// real VM fails; they are used only when the system has no roots of its own.
	_ "golang.org/x/crypto/x509roots/fallback"
	"golang.org/x/oauth2/google/externalaccount"
	"google.golang.org/api/option"

	"github.com/cspipe/cspipe/internal/launcherclient"
	"github.com/cspipe/cspipe/internal/workload"
)

// Exit codes; see the package comment.
const (
	exitReported   = 0
	exitUnreported = 1
	exitBadConfig  = 2
)

// loadModel is the inference engine. The test-only build (tag cspipe_testhook) may wrap it.
var loadModel workload.ModelLoader = workload.LoadEngine

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, getenv func(string) string) int {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, cfgErr := workload.LoadConfig(getenv)
	tokens := launcherclient.TokenFile{Path: cfg.TokenFile()}
	minter := launcherclient.New(cfg.TEEServerSocket())

	store, err := vmStore(ctx, &cfg)
	if err != nil {
		log.Error("building storage client", "error", err.Error())
		return exitUnreported
	}
	if cfgErr != nil {
		log.Error("invalid configuration", "run_id", cfg.RunID, "error", cfgErr.Error())
		out := workload.ReportConfigError(ctx, cfg, workload.Deps{Store: store, Receipts: minter, Log: log, DefaultToken: tokens.Read}, cfgErr)
		if out.SummaryWritten {
			return exitReported
		}
		return exitBadConfig
	}
	model, err := modelStore(ctx, &cfg)
	if err != nil {
		log.Error("building model client", "error", err.Error())
		return exitUnreported
	}
	out := workload.Run(ctx, cfg, workload.Deps{
		Store: store, Model: model, Receipts: minter, LoadModel: loadModel,
		DefaultToken: tokens.Read, Log: log,
	})
	return exitCode(out, log)
}

func exitCode(out workload.Outcome, log *slog.Logger) int {
	s := out.Summary
	log.Info("run finished", "run_id", s.RunID, "shard", s.Shard, "status", s.Status, "images", s.Images,
		"succeeded", s.Succeeded, "failed", s.Failed, "summary_written", out.SummaryWritten, "receipt", out.Receipt)
	if out.Err != nil {
		log.Error("run error", "run_id", s.RunID, "error", out.Err.Error())
	}
	if out.SummaryWritten {
		return exitReported
	}
	return exitUnreported
}

// storageOptions are the options shared by both storage clients. An endpoint that fails the
// config's endpoint rule is never used (the VM's token would go to it), even to report that
// very configuration error.
func storageOptions(cfg *workload.Config) []option.ClientOption {
	if cfg.StorageEndpoint == "" || workload.CheckEndpoint(cfg.StorageEndpoint) != nil {
		return nil
	}
	return []option.ClientOption{option.WithEndpoint(cfg.StorageEndpoint), storage.WithJSONReads()}
}

// vmStore reaches Secundus's buckets with the VM's own identity (Application Default
// Credentials: the metadata server on GCE; GCE_METADATA_HOST points at a stand-in locally).
func vmStore(ctx context.Context, cfg *workload.Config) (*workload.GCSStore, error) {
	c, err := storage.NewClient(ctx, storageOptions(cfg)...)
	if err != nil {
		return nil, fmt.Errorf("storage client (VM identity): %w", err)
	}
	return workload.NewGCSStore(c), nil
}

// modelStore reaches Primus's model bucket with external-account credentials: the launcher's
// token file is the subject token, exchanged at STS against Primus's provider, then (when a
// service account is configured) exchanged for that account's access token.
func modelStore(ctx context.Context, cfg *workload.Config) (*workload.GCSStore, error) {
	ts, err := externalaccount.NewTokenSource(ctx, externalaccount.Config{
		Audience:                       cfg.Audience(),
		SubjectTokenType:               "urn:ietf:params:oauth:token-type:jwt",
		TokenURL:                       cfg.STSTokenURL(),
		ServiceAccountImpersonationURL: cfg.ImpersonationURL(),
		CredentialSource:               &externalaccount.CredentialSource{File: cfg.TokenFile()},
		Scopes:                         []string{"https://www.googleapis.com/auth/devstorage.read_only"},
	})
	if err != nil {
		return nil, fmt.Errorf("external-account credentials: %w", err)
	}
	c, err := storage.NewClient(ctx, append(storageOptions(cfg), option.WithTokenSource(ts))...)
	if err != nil {
		return nil, errors.Join(errors.New("storage client (attested credentials)"), err)
	}
	return workload.NewGCSStore(c), nil
}
