package workload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/records"
)

// verifiedModel is an archive whose bytes matched the expected sha256.
type verifiedModel struct {
	Bytes  []byte
	SHA256 string
}

// fetchModel downloads the archive and checks its sha256 against the manifest RegisterModel
// accepted before anything parses it. Every error says exactly why in words fit for the summary.
//
// The manifest is Primus's release decision and is always required. CSPIPE_MODEL_SHA256 is a
// tee-env value the operator sets, so it can only narrow that decision (the run refuses any
// other accepted model), never replace it: a pin alone would let the operator load any object
// primus-sa can read — a model RegisterModel rejected, or one Primus never registered.
func fetchModel(ctx context.Context, cfg *Config, store blob.Store) (*verifiedModel, error) {
	bucket, object, _ := ParseGCSURL(cfg.Model)
	m, err := readManifest(ctx, store, bucket, object)
	if err != nil {
		return nil, err
	}
	if cfg.ModelSHA256 != "" && cfg.ModelSHA256 != m.SHA256 {
		return nil, errclass.Permanent(fmt.Errorf("model %s: CSPIPE_MODEL_SHA256 expects %s but the model registered there has sha256 %s; model not loaded", cfg.Model, cfg.ModelSHA256, m.SHA256))
	}
	want, wantGen := m.SHA256, m.Generation
	r, attrs, err := store.NewReader(ctx, bucket, object)
	if err != nil {
		return nil, describeAccess(err, "model "+cfg.Model)
	}
	defer r.Close()
	if wantGen != 0 && attrs.Generation != 0 && attrs.Generation != wantGen {
		return nil, errclass.Permanent(fmt.Errorf("model %s is generation %d but its manifest describes generation %d: the archive was replaced after registration; model not loaded", cfg.Model, attrs.Generation, wantGen))
	}
	h := sha256.New()
	var buf bytes.Buffer
	if attrs.Size > 0 && attrs.Size <= MaxModelBytes {
		buf.Grow(int(attrs.Size))
	}
	n, err := io.Copy(io.MultiWriter(&buf, h), io.LimitReader(r, MaxModelBytes+1))
	if err != nil {
		return nil, describeAccess(err, "reading model "+cfg.Model)
	}
	if n > MaxModelBytes {
		return nil, errclass.Permanent(fmt.Errorf("model %s is larger than %d bytes; model not loaded", cfg.Model, MaxModelBytes))
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != want {
		return nil, errclass.Permanent(fmt.Errorf("model sha256 mismatch: %s has sha256 %s but the manifest (generation %d) expects %s; model not loaded", cfg.Model, got, wantGen, want))
	}
	return &verifiedModel{Bytes: buf.Bytes(), SHA256: got}, nil
}

const maxManifestBytes = 1 << 20

func readManifest(ctx context.Context, store blob.Store, bucket, object string) (*records.Manifest, error) {
	name := object + records.ManifestSuffix
	b, _, err := blob.ReadAll(ctx, store, bucket, name, maxManifestBytes)
	if err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			return nil, errclass.Permanent(fmt.Errorf("no manifest gs://%s/%s: the model is not registered; model not loaded", bucket, name))
		}
		return nil, describeAccess(err, "manifest gs://"+bucket+"/"+name)
	}
	var m records.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errclass.Permanent(fmt.Errorf("manifest gs://%s/%s does not parse: %v", bucket, name, err))
	}
	switch {
	case m.Status != records.ManifestAccepted:
		reason := m.Reason
		if reason == "" {
			reason = "no reason given"
		}
		return nil, errclass.Permanent(fmt.Errorf("model gs://%s/%s was not accepted by RegisterModel (status %q: %s); model not loaded", bucket, object, m.Status, reason))
	case m.Object != "" && m.Object != object:
		return nil, errclass.Permanent(fmt.Errorf("manifest gs://%s/%s describes object %q, not %q", bucket, name, m.Object, object))
	case len(m.SHA256) != 64:
		return nil, errclass.Permanent(fmt.Errorf("manifest gs://%s/%s has no valid sha256", bucket, name))
	}
	return &m, nil
}

// oauthErrRe finds the status and body that golang.org/x/oauth2/google puts in its errors
// ("oauth2/google: status code 400: {...}"), however deeply the storage client wrapped them.
var oauthErrRe = regexp.MustCompile(`(?s)status code (\d+): (\{.*\})`)

// describeAccess turns a failure to reach the model into the sentence the summary carries. A
// refused token exchange (STS) or impersonation (IAM Credentials) is quoted as the service sent it.
func describeAccess(err error, what string) error {
	if msg, ok := explainCredentialError(err); ok {
		return errclass.Permanent(fmt.Errorf("%s: %s; model not loaded", what, msg))
	}
	if errors.Is(err, blob.ErrNotFound) {
		return errclass.Permanent(fmt.Errorf("%s: not found; model not loaded", what))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// explainCredentialError extracts an STS or IAM Credentials refusal from err.
func explainCredentialError(err error) (string, bool) {
	m := oauthErrRe.FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	body := m[2]
	var sts struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal([]byte(body), &sts) == nil && sts.Error != "" {
		return fmt.Sprintf("attestation refused by the token exchange (STS status %s): %s: %s", m[1], sts.Error, sts.Description), true
	}
	var iam struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &iam) == nil && iam.Error.Message != "" {
		return fmt.Sprintf("impersonation refused by IAM Credentials (status %s): %s: %s", m[1], iam.Error.Status, iam.Error.Message), true
	}
	return fmt.Sprintf("credential exchange failed (status %s): %s", m[1], strings.TrimSpace(body)), true
}
