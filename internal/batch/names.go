package batch

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Prefixes of the pipeline's own objects in the input bucket; events for them are ignored.
const (
	// LegacyStatePrefix held ScheduleRun's state inside the input bucket before the state bucket;
	// objects under it are still ignored so an old deployment's leftovers never become images.
	LegacyStatePrefix = "_cspipe/"
	// RunsPrefix holds results; it is ignored in case input and results share a bucket.
	RunsPrefix = "runs/"

	// Object names in the state bucket (see the package doc).
	headName      = "head.json"
	claimsPrefix  = "claims/"
	batchesPrefix = "batches/"

	// maxObjectName is the longest object name Cloud Storage accepts, in bytes.
	maxObjectName = 1024
	// batchTimeLayout formats a batch's opening time in its id.
	batchTimeLayout = "20060102-150405"
	// LabelRunID is the execution label that carries the run id.
	LabelRunID = "cspipe-run-id"
)

// imageExts are the file name extensions taken as images when the content type does not say.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".jfif": true, ".png": true,
	".gif": true, ".webp": true, ".bmp": true, ".tif": true, ".tiff": true,
}

// isImage reports whether an object looks like an image by content type or file name. The
// workload decodes JPEG and PNG and records any other file as a per-image error, so this is a
// cheap filter for obvious non-images (text, archives, manifests), not a decoder.
func isImage(name, contentType string) bool {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if strings.HasPrefix(ct, "image/") {
		return true
	}
	return imageExts[strings.ToLower(path.Ext(name))]
}

// newBatchID names the seq-th batch, opened at t: "20061102-150405-<seq>". The opening time
// makes ids readable and roughly ordered; seq (one more than the previous batch's) makes them
// unique, since only one event can move the head from one batch to the next.
func newBatchID(t time.Time, seq int64) string {
	return t.UTC().Format(batchTimeLayout) + "-" + strconv.FormatInt(seq, 10)
}

// validBatchID reports whether id has the shape newBatchID makes.
func validBatchID(id string) bool {
	ts, seq, ok := strings.Cut(id, "-")
	if !ok {
		return false
	}
	ts2, seq, ok := strings.Cut(seq, "-")
	if !ok {
		return false
	}
	if _, err := time.Parse(batchTimeLayout, ts+"-"+ts2); err != nil {
		return false
	}
	n, err := strconv.ParseInt(seq, 10, 64)
	return err == nil && n > 0 && strconv.FormatInt(n, 10) == seq
}

// RunID is the run id of a batch: it names results (runs/<run_id>/), VMs and execution labels,
// so it is lower-case letters, digits and hyphens and starts with a letter.
func RunID(batchID string) string { return "batch-" + batchID }

// BatchPrefix is the prefix (with a trailing slash) of a batch's item objects in the state
// bucket; the workload receives it as CSPIPE_BATCH_PREFIX.
func BatchPrefix(batchID string) string { return batchesPrefix + batchID + "/items/" }

// HeadObject is the name of the batch head in the state bucket.
func HeadObject() string { return headName }

// PlanObject is where the workflow records a sealed batch's item count and shard count.
func PlanObject(batchID string) string { return batchesPrefix + batchID + "/plan.json" }

// objectKey is the escaped "<name>#<generation>" that names an object version in state objects.
func objectKey(name string, generation int64) string {
	return url.PathEscape(name) + "#" + strconv.FormatInt(generation, 10)
}

func claimName(key string) string { return claimsPrefix + key }

func itemName(batchID, key string) string { return BatchPrefix(batchID) + key }

func runName(batchID string) string { return batchesPrefix + batchID + "/run.json" }

// ClaimObject is the name of the claim of object version name#generation in the state bucket.
func ClaimObject(name string, generation int64) string { return claimName(objectKey(name, generation)) }

// ItemObject is the name of object version name#generation's item in batch batchID.
func ItemObject(batchID, name string, generation int64) string {
	return itemName(batchID, objectKey(name, generation))
}

// RunObject is the name of a batch's run.json in the state bucket.
func RunObject(batchID string) string { return runName(batchID) }

// wholeSeconds renders d as whole seconds for the workflow, never less than least.
func wholeSeconds(d time.Duration, least int64) int64 {
	return max(int64(d/time.Second), least)
}

func errBatchID(id string) error { return fmt.Errorf("batch id %q is malformed", id) }

// IsBatchable reports whether ScheduleRun batches an object of the input bucket with this name and
// content type (the same test as Schedule, bucket aside).
func IsBatchable(name, contentType string) bool {
	return name != "" && !strings.HasSuffix(name, "/") && !strings.HasPrefix(name, LegacyStatePrefix) &&
		!strings.HasPrefix(name, RunsPrefix) && isImage(name, contentType)
}
