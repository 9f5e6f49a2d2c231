package workload

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/launcherclient"
	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/records"
)

// Outcome is how a run ended.
type Outcome struct {
	// Summary is what was (or would have been) written as summary.json.
	Summary records.Summary
	// SummaryWritten reports whether summary.json reached the results bucket.
	SummaryWritten bool
	// Receipt reports whether receipt.jwt was written.
	Receipt bool
	// Err is the reason the run failed or could not report (nil on success).
	Err error
}

// Run performs one shard: fetch and verify the model, classify every image, write the results,
// the receipt and the summary (last). cfg must have passed Validate. Failures before the images
// are classified (token refused, model mismatch) still produce a failed summary.
func Run(ctx context.Context, cfg Config, d Deps) Outcome {
	if err := d.check(); err != nil {
		return Outcome{Err: err}
	}
	start := d.Now()
	sum := records.Summary{
		RunID: cfg.RunID, Shard: cfg.ShardIndex, ShardCount: cfg.ShardCount, Status: records.StatusOK,
		ModelObject: cfg.Model, StartedAt: start.UTC(), Source: "workload",
	}
	fillImageClaims(&sum, d.DefaultToken)
	log := d.Log.With("run_id", cfg.RunID, "shard", cfg.ShardIndex)
	prefix := records.Prefix(cfg.RunID, cfg.ShardIndex, cfg.ShardCount)

	model, err := fetchModel(ctx, &cfg, d.Model)
	if err != nil {
		log.Error("model refused", "error", err.Error())
		return finishFailed(ctx, &cfg, &d, sum, prefix, err)
	}
	sum.ModelSHA256 = model.SHA256
	clf, err := d.LoadModel(ctx, model.Bytes, cfg.TopK)
	model.Bytes = nil
	if err != nil {
		err = fmt.Errorf("loading model %s: %w", cfg.Model, err)
		log.Error("model load failed", "error", err.Error())
		return finishFailed(ctx, &cfg, &d, sum, prefix, err)
	}
	log.Info("model verified and loaded", "model_sha256", sum.ModelSHA256)

	wctx, cancel := context.WithCancel(ctx)
	w := d.Store.NewWriter(wctx, cfg.ResultsBucket, prefix+records.ResultsFile, "application/x-ndjson")
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 256<<10)
	t, runErr := classifyAll(ctx, &cfg, &d, clf, bw)
	if err := bw.Flush(); err != nil && runErr == nil {
		runErr = fmt.Errorf("writing results: %w", err)
	}
	if err := w.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("writing results: %w", err)
	}
	cancel()
	sum.Images, sum.Succeeded, sum.Failed, sum.Errors = t.images, t.ok, t.failed, t.errors
	if runErr != nil {
		sum.Status, sum.Error = records.StatusFailed, runErr.Error()
		log.Error("run failed", "error", runErr.Error())
	}
	log.Info("images classified", "images", t.images, "succeeded", t.ok, "failed", t.failed)
	return finish(ctx, &cfg, &d, sum, prefix, hex.EncodeToString(h.Sum(nil)), runErr)
}

// finishFailed writes an empty results file, then the receipt and a failed summary.
func finishFailed(ctx context.Context, cfg *Config, d *Deps, sum records.Summary, prefix string, cause error) Outcome {
	sum.Status, sum.Error = records.StatusFailed, cause.Error()
	if _, err := d.Store.Write(ctx, cfg.ResultsBucket, prefix+records.ResultsFile,
		blob.Object{ContentType: "application/x-ndjson"}, blob.Cond{}); err != nil {
		return Outcome{Summary: sum, Err: errors.Join(cause, fmt.Errorf("writing empty results: %w", err))}
	}
	return finish(ctx, cfg, d, sum, prefix, receipt.SHA256(nil), cause)
}

// finish mints the receipt over results and summary, writes it, then writes summary.json last.
func finish(ctx context.Context, cfg *Config, d *Deps, sum records.Summary, prefix, resultsSHA string, cause error) Outcome {
	end := d.Now()
	sum.ResultsSHA256, sum.FinishedAt = resultsSHA, end.UTC()
	sum.DurationMS = ms(end.Sub(sum.StartedAt))
	sb, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return Outcome{Summary: sum, Err: err}
	}
	out := Outcome{Summary: sum, Err: cause}
	tok, err := mintReceipt(ctx, d.Receipts, resultsSHA, receipt.SHA256(sb))
	if err == nil {
		_, err = d.Store.Write(ctx, cfg.ResultsBucket, prefix+records.ReceiptFile,
			blob.Object{Data: tok, ContentType: "application/jwt"}, blob.Cond{})
	}
	if err != nil {
		// No receipt: say so in the summary (which changes its bytes; nothing attests them now).
		d.Log.Error("receipt not written", "run_id", cfg.RunID, "error", err.Error())
		sum.Error = joinMsg(sum.Error, "no receipt: "+err.Error())
		out.Summary = sum
		if sb, err = json.MarshalIndent(sum, "", "  "); err != nil {
			out.Err = errors.Join(out.Err, err)
			return out
		}
	} else {
		out.Receipt = true
	}
	if _, err := d.Store.Write(ctx, cfg.ResultsBucket, prefix+records.SummaryFile,
		blob.Object{Data: sb, ContentType: "application/json"}, blob.Cond{}); err != nil {
		out.Err = errors.Join(out.Err, fmt.Errorf("writing summary: %w", err))
		return out
	}
	out.SummaryWritten = true
	return out
}

// mintReceipt asks for the custom token, retrying the launcher's transient (5xx) failures.
func mintReceipt(ctx context.Context, m Minter, resultsSHA, summarySHA string) ([]byte, error) {
	var err error
	for attempt := range 4 {
		var tok []byte
		tok, err = m.CustomToken(ctx, receipt.Audience, receipt.Nonces(resultsSHA, summarySHA))
		if err == nil {
			return tok, nil
		}
		var se *launcherclient.ServerError
		if !errors.As(err, &se) || !se.Retryable() {
			return nil, err
		}
		select {
		case <-time.After(time.Duration(1<<attempt) * time.Second):
		case <-ctx.Done():
			return nil, errors.Join(err, ctx.Err())
		}
	}
	return nil, err
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// fillImageClaims copies the image digest and reference from the default token's claims. They
// are descriptive only; the receipt is what attests them.
func fillImageClaims(sum *records.Summary, token func() ([]byte, error)) {
	if token == nil {
		return
	}
	b, err := token()
	if err != nil {
		return
	}
	c, err := launcherclient.UnverifiedClaims(b)
	if err != nil {
		return
	}
	sub, _ := c["submods"].(map[string]any)
	ctr, _ := sub["container"].(map[string]any)
	sum.ImageDigest, _ = ctr["image_digest"].(string)
	sum.ImageReference, _ = ctr["image_reference"].(string)
}

// ReportConfigError writes a failed summary (and receipt) for a configuration that did not
// validate, when the results bucket and run id are usable. Only d.Store and d.Receipts are used.
func ReportConfigError(ctx context.Context, cfg Config, d Deps, cause error) Outcome {
	if d.Store == nil || d.Receipts == nil || !bucketRe.MatchString(cfg.ResultsBucket) || !runIDRe.MatchString(cfg.RunID) {
		return Outcome{Err: cause}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	shard, count := cfg.ShardIndex, cfg.ShardCount
	if count < 1 || count > maxShards || shard < 0 || shard >= count {
		shard, count = 0, 1
	}
	sum := records.Summary{RunID: cfg.RunID, Shard: shard, ShardCount: count, ModelObject: cfg.Model,
		StartedAt: d.Now().UTC(), Source: "workload"}
	fillImageClaims(&sum, d.DefaultToken)
	return finishFailed(ctx, &cfg, &d, sum, records.Prefix(cfg.RunID, shard, count), fmt.Errorf("invalid configuration: %w", cause))
}
