package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"cloud.google.com/go/storage"

	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/policy"
	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/records"
)

// exitReceiptRejected is verify-receipt's exit code when the receipt does not match the files
// or is not signed by the issuer.
const exitReceiptRejected = 3

// maxRunFileBytes bounds each of a run's files read for verification.
const maxRunFileBytes = 1 << 30

func init() {
	register("verify-receipt", "check a run's attested receipt against its results and summary", runVerifyReceipt)
}

func runVerifyReceipt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-receipt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("results-dir", "", "directory holding results.jsonl, summary.json and receipt.jwt")
	bucket := fs.String("bucket", "", "read the run from this results bucket instead (uses default credentials; honours STORAGE_EMULATOR_HOST)")
	run := fs.String("run", "", "with --bucket: the run id")
	shard := fs.Int("shard", 0, "with --bucket: the shard index")
	shards := fs.Int("shards", 1, "with --bucket: the run's shard count")
	issuer := fs.String("issuer", "", "issuer URL: keys come from its OIDC discovery document, and iss must match")
	jwks := fs.String("jwks", "", "JWKS file with the issuer's keys (for old receipts whose key has rotated out)")
	audience := fs.String("audience", receipt.Audience, "expected audience")
	expectDigest := fs.String("expect-digest", "", "the approved image digest (sha256:…): the receipt must attest exactly it")
	expectPinned := fs.Bool("expect-pinned", false, "the receipt must attest the digest pinned now: the latest pin of --audit-bucket's verified audit log")
	auditBucket := fs.String("audit-bucket", "", "with --expect-pinned: Primus's audit bucket (uses default credentials; honours STORAGE_EMULATOR_HOST)")
	allowDebug := fs.Bool("allow-debug-unsafe", false, "accept a receipt from the debug image, whose operator can inspect the workload (never for production results)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cspipe verify-receipt (--results-dir D | --bucket B --run R [--shard i --shards n]) (--issuer URL | --jwks FILE)")
		fmt.Fprintln(stderr, "         [--expect-digest sha256:… | --expect-pinned --audit-bucket B] [--allow-debug-unsafe] [--audience A]")
		fmt.Fprintf(stderr, "exit code 0: receipt verified; %d: rejected (tampered files, wrong key or issuer, not the approved digest, debug image); 2: usage; 1: could not check\n", exitReceiptRejected)
		fmt.Fprintln(stderr, "Expiry is not checked: a receipt records what a TEE signed when the run ended.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitError{code: 2}
	}
	if (*dir == "") == (*bucket == "") || (*issuer == "" && *jwks == "") || (*bucket != "" && *run == "") ||
		(*expectDigest != "" && *expectPinned) || (*expectPinned != (*auditBucket != "")) {
		fs.Usage()
		return exitError{code: 2}
	}
	if *expectDigest != "" {
		if _, err := policy.ParseDigest(*expectDigest); err != nil {
			return exitError{code: 2, msg: "--expect-digest: " + err.Error()}
		}
	}
	files, err := readRunFiles(ctx, *dir, *bucket, records.Prefix(*run, *shard, *shards))
	if err != nil {
		return err
	}
	approved := *expectDigest
	if *expectPinned {
		if approved, err = pinnedDigest(ctx, *auditBucket); err != nil {
			return err
		}
	}
	var keys receipt.Keys
	if *jwks != "" {
		b, err := readFileLimit(*jwks, maxJWKSFileBytes, "JWKS file")
		if err != nil {
			return err
		}
		if keys, err = receipt.ParseJWKS(b); err != nil {
			return err
		}
	} else {
		hc := &http.Client{Timeout: 30 * time.Second}
		if keys, err = receipt.FetchKeys(ctx, hc, *issuer); err != nil {
			return err
		}
	}
	res, err := receipt.VerifyRun(files[0], files[1], files[2], keys, receipt.Options{Issuer: *issuer, Audience: *audience,
		ExpectDigest: approved, AllowDebugUnsafe: *allowDebug})
	var re *receipt.Error
	if errors.As(err, &re) {
		return exitError{code: exitReceiptRejected, msg: "REJECTED: " + re.Reason}
	}
	if err != nil {
		return err
	}
	c, s := res.Claims, res.Summary
	fmt.Fprintln(stdout, "receipt OK: results.jsonl and summary.json are exactly what the attested workload wrote")
	fmt.Fprintf(stdout, "  issuer:             %s\n", c.Issuer)
	fmt.Fprintf(stdout, "  issued at:          %s\n", c.IssuedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "  image digest:       %s (= summary.json's)\n", c.ImageDigest)
	switch {
	case *expectPinned:
		fmt.Fprintf(stdout, "  approved digest:    %s (the latest pin of gs://%s, chain verified): matches\n", approved, *auditBucket)
	case approved != "":
		fmt.Fprintf(stdout, "  approved digest:    %s: matches\n", approved)
	default:
		fmt.Fprintln(stdout, "  approved digest:    not checked (give --expect-digest or --expect-pinned)")
	}
	fmt.Fprintf(stdout, "  image reference:    %s\n", c.ImageReference)
	fmt.Fprintf(stdout, "  support attributes: %s\n", strings.Join(c.SupportAttributes, ","))
	fmt.Fprintf(stdout, "  dbgstat:            %s\n", c.DbgStat)
	fmt.Fprintf(stdout, "  hwmodel:            %s\n", c.HWModel)
	fmt.Fprintf(stdout, "  restart policy:     %s\n", c.RestartPolicy)
	fmt.Fprintf(stdout, "  service accounts:   %s\n", strings.Join(c.ServiceAccounts, ","))
	fmt.Fprintf(stdout, "  run:                %s shard %d/%d status %s: %d images, %d ok, %d failed\n",
		s.RunID, s.Shard, s.ShardCount, s.Status, s.Images, s.Succeeded, s.Failed)
	fmt.Fprintf(stdout, "  model sha256:       %s\n", s.ModelSHA256)
	if c.DbgStat != "disabled-since-boot" {
		fmt.Fprintln(stdout, "  WARNING: --allow-debug-unsafe: the TEE ran a debug image (dbgstat is not disabled-since-boot)")
	}
	return nil
}

// readRunFiles returns results.jsonl, summary.json and receipt.jwt, from a directory or a bucket.
func readRunFiles(ctx context.Context, dir, bucket, prefix string) ([3][]byte, error) {
	var out [3][]byte
	names := [3]string{records.ResultsFile, records.SummaryFile, records.ReceiptFile}
	var store blob.Store
	if bucket != "" {
		c, err := storage.NewClient(ctx)
		if err != nil {
			return out, err
		}
		defer c.Close()
		store = blob.NewGCS(c)
	}
	limits := [3]int64{maxRunFileBytes, maxSummaryFileBytes, maxSummaryFileBytes}
	for i, n := range names {
		var err error
		if store != nil {
			out[i], _, err = blob.ReadAll(ctx, store, bucket, prefix+n, limits[i])
		} else {
			out[i], err = readFileLimit(filepath.Join(dir, n), limits[i], n)
		}
		if err != nil {
			return out, fmt.Errorf("reading %s: %w", n, err)
		}
	}
	return out, nil
}

// pinnedDigest returns the digest of the latest pin in Primus's audit bucket, after verifying
// the log's current segment: every record's hash and link, and that each condition is what its
// policy values render. A log that does not verify vouches for nothing.
func pinnedDigest(ctx context.Context, bucket string) (string, error) {
	c, err := storage.NewClient(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	log := audit.New(blob.NewGCS(c), bucket)
	n, err := log.Walk(ctx, func(e audit.Entry) error { return audit.CheckRecord(e.Record) })
	if err != nil {
		return "", exitError{code: exitReceiptRejected, msg: fmt.Sprintf("REJECTED: the audit log in gs://%s does not verify: %v", bucket, err)}
	}
	head, ok, err := log.Latest(ctx)
	if err != nil {
		return "", err
	}
	if !ok || n == 0 {
		return "", exitError{code: exitReceiptRejected, msg: fmt.Sprintf("REJECTED: gs://%s holds no pin", bucket)}
	}
	return head.Record.Digest, nil
}
