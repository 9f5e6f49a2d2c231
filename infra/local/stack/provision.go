package stack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/storage"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/imagebuild"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/records"
)

// DemoModelConfig is the synthetic model `cspipe demo` and `cspipe local up` register by default:
// MobileNet v1, width 0.25, 224×224, 1001 classes, random weights (its labels mean nothing).
var DemoModelConfig = modelgen.Config{Arch: "v1", Width: 0.25, Size: 224, Classes: 1001, Seed: 7}

// ProvisionOptions say what Provision puts in place.
type ProvisionOptions struct {
	// ModuleRoot is the cspipe module the workload image is built from (unless Image is set).
	ModuleRoot string
	// Image is a prebuilt workload image (tests); nil builds one from ModuleRoot.
	Image v1.Image
	// Model is a model archive (`cspipe model pack`); nil registers the synthetic demo model.
	Model []byte
	// Progress, when set, gets one line per step.
	Progress func(format string, a ...any)
}

// Provisioned is what Provision put in place.
type Provisioned struct {
	ImageRef    string // Primus's repository @sha256:…, pinned in the provider's condition
	ModelObject string // gs://bucket/object of the registered model
	ModelSHA256 string
}

// Provision makes the pipeline ready for uploads the way a user would: it uploads the model
// archive as Primus's admin and waits until RegisterModel accepted it, then pushes the workload
// image to Primus's repository and waits until PinWorkloadImage has pinned it. The model comes
// first so that uploads already waiting for a pin find it registered when the pin arrives. On a
// restart with a data dir it is quick: an accepted manifest for the same archive bytes is kept,
// and the same image is already pinned (the push is idempotent and announces nothing new).
func (s *Stack) Provision(ctx context.Context, o ProvisionOptions) (Provisioned, error) {
	say := o.Progress
	if say == nil {
		say = func(string, ...any) {}
	}
	var p Provisioned
	img := o.Image
	if img == nil {
		say("building the workload image (static Go binary, reproducible OCI image)…")
		var err error
		if img, err = imagebuild.Build(ctx, imagebuild.Options{ModuleDir: o.ModuleRoot}); err != nil {
			return p, fmt.Errorf("building the workload image: %w", err)
		}
	}
	if err := s.registerModel(ctx, o.Model, &p, say); err != nil {
		return p, err
	}
	ref, err := s.Push(ctx, img, s.PrimusRepository(), "latest")
	if err != nil {
		return p, fmt.Errorf("pushing the workload image: %w", err)
	}
	p.ImageRef = ref
	digest := ref[len(s.PrimusRepository())+1:]
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = s.WaitPinned(wctx, digest)
	if err == nil {
		err = s.WaitPinRecorded(wctx, digest)
	}
	cancel()
	if err != nil {
		return p, fmt.Errorf("waiting for PinWorkloadImage to pin %s: %w", ref, err)
	}
	say("workload image %s pinned in the provider's attribute condition", ref)
	return p, nil
}

// WaitPinRecorded waits until the audit log's head names digest: PinWorkloadImage updates the
// provider first and the audit log after, and a restart re-applies the pin from the log.
func (s *Stack) WaitPinRecorded(ctx context.Context, digest string) error {
	for {
		if obj, err := s.GCS.Fake().GetObject(AuditBucket, audit.LatestObject); err == nil {
			var l audit.Latest
			if json.Unmarshal(obj.Content, &l) == nil && l.Digest == digest {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the audit log never recorded %s: %w", digest, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// registerModel uploads arc (nil: the demo model) unless an accepted manifest for the same bytes
// exists, and waits for RegisterModel's verdict.
func (s *Stack) registerModel(ctx context.Context, arc []byte, p *Provisioned, say func(string, ...any)) error {
	var err error
	if arc == nil {
		if arc, err = SyntheticModel(DemoModelConfig); err != nil {
			return err
		}
	} else if _, err := archive.Validate(bytes.NewReader(arc), archive.Limits{}); err != nil {
		return fmt.Errorf("the model archive would be rejected: %w", err)
	}
	sum := sha256.Sum256(arc)
	p.ModelSHA256 = hex.EncodeToString(sum[:])
	p.ModelObject = "gs://" + ModelBucket + "/" + ModelObject
	if m, err := s.manifest(); err == nil && m.Status == records.ManifestAccepted && m.SHA256 == p.ModelSHA256 {
		say("model %s already registered (sha256 %s…)", p.ModelObject, p.ModelSHA256[:12])
		return nil
	}
	c, err := s.StorageClient(ctx, iam.User(PrimusAdmin))
	if err != nil {
		return err
	}
	defer c.Close()
	w := c.Bucket(ModelBucket).Object(ModelObject).NewWriter(ctx)
	if _, err := w.Write(arc); err != nil {
		w.Close()
		return fmt.Errorf("uploading the model: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("uploading the model: %w", err)
	}
	for {
		m, err := s.manifest()
		if err == nil && m.SHA256 == p.ModelSHA256 {
			if m.Status != records.ManifestAccepted {
				return fmt.Errorf("RegisterModel rejected the model: %s", m.Reason)
			}
			say("model %s registered (sha256 %s…)", p.ModelObject, p.ModelSHA256[:12])
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for RegisterModel to accept the model: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// manifest reads the registered model's manifest (bypassing IAM: the stack's own view).
func (s *Stack) manifest() (records.Manifest, error) {
	var m records.Manifest
	obj, err := s.GCS.Fake().GetObject(ModelBucket, ModelObject+records.ManifestSuffix)
	if err != nil {
		return m, errors.Join(storage.ErrObjectNotExist, err)
	}
	return m, json.Unmarshal(obj.Content, &m)
}
