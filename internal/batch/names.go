package batch

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Prefixes of the pipeline's own objects; events for them are ignored.
const (
	// StatePrefix holds ScheduleRun's state in the input bucket.
	StatePrefix = "_cspipe/"
	// RunsPrefix holds results; it is ignored in case input and results share a bucket.
	RunsPrefix = "runs/"

	claimsPrefix  = StatePrefix + "claims/"
	batchesPrefix = StatePrefix + "batches/"

	// maxObjectName is the longest object name Cloud Storage accepts, in bytes.
	maxObjectName = 1024
	// batchIDLayout formats a window's start as a batch id.
	batchIDLayout = "20060102-150405"
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

// BatchID is the id of the batch whose window contains t.
func BatchID(t time.Time, window time.Duration) string {
	return windowStart(t, window).Format(batchIDLayout)
}

// RunID is the run id of a batch: it names results (runs/<run_id>/), VMs and execution labels,
// so it is lower-case letters, digits and hyphens and starts with a letter.
func RunID(batchID string) string { return "batch-" + batchID }

// BatchPrefix is the prefix (with a trailing slash) of a batch's item objects; the workload
// receives it as CSPIPE_BATCH_PREFIX.
func BatchPrefix(batchID string) string { return batchesPrefix + batchID + "/items/" }

// windowStart truncates t (in UTC) to the start of its window.
func windowStart(t time.Time, window time.Duration) time.Time {
	return t.UTC().Truncate(window)
}

// windowOf parses a batch id back into its window start.
func windowOf(batchID string) (time.Time, error) {
	t, err := time.ParseInLocation(batchIDLayout, batchID, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("batch id %q: %w", batchID, err)
	}
	return t, nil
}

// objectKey is the escaped "<name>#<generation>" that names an object version in state objects.
func objectKey(name string, generation int64) string {
	return url.PathEscape(name) + "#" + strconv.FormatInt(generation, 10)
}

func claimName(key string) string { return claimsPrefix + key }

func itemName(batchID, key string) string { return BatchPrefix(batchID) + key }

func runName(batchID string) string { return batchesPrefix + batchID + "/run.json" }
