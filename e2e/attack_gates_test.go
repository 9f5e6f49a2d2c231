package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/cspipe/cspipe/infra/local/attest"
	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

// The product's own gates of issue 11 (items 3–6), played against the running stack by
// TestAttacks. None of them may change the condition, the audit chain or read the model;
// TestAttacks checks that after all of them.

// --- PinWorkloadImage -------------------------------------------------------------------------

// attackPinEvents delivers `gcr` events to PinWorkloadImage with the Eventarc trigger's own
// identity (the one caller the endpoint admits, as if Pub/Sub's clock or the dispatcher could
// not be trusted): one dated 2099 for the pinned digest, one for a digest Primus's repository
// does not hold. Both are acked, refused and recorded under pins/refused/; the chain does not
// move. TestAttacks' "replay after re-pin" then shows that a legitimate push still pins.
func attackPinEvents(t *testing.T, e *env, ref string) {
	target := e.s.FunctionsURL() + "/PinWorkloadImage"
	idToken, err := e.s.IAM.MintIDToken(stack.TriggerSA(stack.Primus), target)
	if err != nil {
		t.Fatal(err)
	}
	repo, pinnedDigest := ref[:strings.Index(ref, "@")], ref[strings.Index(ref, "@")+1:]
	absent := "sha256:" + strings.Repeat("c", 64)
	before := refusals(t, e)
	send := func(id, d, published string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"message": map[string]any{
			"data":        []byte(`{"action":"INSERT","digest":"` + repo + `@` + d + `"}`),
			"messageId":   id,
			"publishTime": published,
		}, "subscription": "projects/" + stack.Primus.ID + "/subscriptions/eventarc-pin-workload-image"})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(string(body)))
		for k, v := range map[string]string{"Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": id,
			"ce-type": "google.cloud.pubsub.topic.v1.messagePublished", "ce-source": "//pubsub.googleapis.com/projects/" + stack.Primus.ID + "/topics/" + stack.GCRTopic,
			"ce-time": published, "Authorization": "Bearer " + idToken} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s: PinWorkloadImage answered %d; want an ack (a refusal is final, not retried)", id, resp.StatusCode)
		}
	}
	send("forged-2099", pinnedDigest, "2099-01-01T00:00:00Z")
	send("forged-absent", absent, time.Now().UTC().Format(time.RFC3339Nano))

	got := refusals(t, e)
	if len(got) != len(before)+2 {
		t.Fatalf("pins/refused/ holds %d records, want %d", len(got), len(before)+2)
	}
	byEvent := map[string]audit.Refusal{}
	for _, r := range got {
		byEvent[r.EventID] = r
	}
	future := byEvent["forged-2099"]
	const wantFuture = "the event is dated 2099-01-01T00:00:00Z, more than 5m0s after this function's clock ("
	if future.Digest != pinnedDigest || !strings.HasPrefix(future.Reason, wantFuture) {
		t.Errorf("refusal of the event dated 2099 = %+v\nwant digest %s, reason %q…", future, pinnedDigest, wantFuture)
	}
	missing := byEvent["forged-absent"]
	const wantAbsent = "the digest is not in the repository: "
	if missing.Digest != absent || !strings.HasPrefix(missing.Reason, wantAbsent) {
		t.Errorf("refusal of the absent digest = %+v\nwant digest %s, reason %q…", missing, absent, wantAbsent)
	}
}

// refusals decodes the audit bucket's pins/refused/ records.
func refusals(t *testing.T, e *env) []audit.Refusal {
	t.Helper()
	objs, _, err := e.s.GCS.Fake().ListObjectsWithOptions(stack.AuditBucket, fakestorage.ListOptions{Prefix: audit.RefusedPrefix})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Refusal
	for _, o := range objs {
		obj, err := e.s.GCS.Fake().GetObject(stack.AuditBucket, o.Name)
		if err != nil {
			t.Fatal(err)
		}
		var r audit.Refusal
		if err := json.Unmarshal(obj.Content, &r); err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		out = append(out, r)
	}
	return out
}

// --- cspipe verify-receipt ----------------------------------------------------------------------

// attackReceipts: Secundus's own image runs unpinned (STS refuses it the model, but it can still
// write results and get a receipt from the attestation service for its own digest). The
// receipt check the CLI runs (receipt.VerifyRun with the CLI's options, keys from the issuer's
// discovery document) refuses each forgery; the honest run of the pinned image passes.
func attackReceipts(t *testing.T, e *env, ref string) {
	pinned := ref[strings.Index(ref, "@")+1:]
	secundusRef := e.s.SecundusRepository() + "@sha256:" + strings.Repeat("5", 64)
	secundus := secundusRef[strings.Index(secundusRef, "@")+1:]
	keys, err := receipt.FetchKeys(t.Context(), http.DefaultClient, e.s.Issuer.URL())
	if err != nil {
		t.Fatal(err)
	}
	// run writes what a workload of attestedRef writes, with summaryDigest in its summary.
	run := func(attestedRef, summaryDigest string, debug bool) (results, summary, token []byte) {
		results = []byte(`{"image":"photos/a.png","label":"forged","score":0.99}` + "\n")
		summary, _ = json.Marshal(records.Summary{RunID: "forged", Status: records.StatusOK, Images: 1, Succeeded: 1,
			ImageDigest: summaryDigest, ResultsSHA256: receipt.SHA256(results)})
		w := workloadFor(attestedRef)
		w.Debug = debug
		tok, err := e.s.Issuer.Mint(w, receipt.Audience, receipt.Nonces(receipt.SHA256(results), receipt.SHA256(summary)))
		if err != nil {
			t.Fatal(err)
		}
		return results, summary, []byte(tok)
	}
	tests := []struct {
		name            string
		attested, claim string
		debug           bool
		expect          string
		want            string // "" = verified
	}{
		{"the pinned image (control)", ref, pinned, false, pinned, ""},
		{"Secundus's image, honest summary, --expect-digest", secundusRef, secundus, false, pinned,
			"the receipt attests image digest " + secundus + ", not the approved " + pinned},
		{"Secundus's image, summary naming the pinned digest", secundusRef, pinned, false, "",
			`summary.json names image digest "` + pinned + `", but the receipt attests ` + secundus},
		{"debug image of the pinned digest", ref, pinned, true, "",
			`the receipt comes from a debug image (dbgstat "enabled"), whose operator can inspect the workload; accept it only with --allow-debug-unsafe`},
	}
	for _, tt := range tests {
		results, summary, token := run(tt.attested, tt.claim, tt.debug)
		_, err := receipt.VerifyRun(results, summary, token, keys, receipt.Options{Issuer: e.s.Issuer.URL(), Audience: receipt.Audience, ExpectDigest: tt.expect})
		var re *receipt.Error
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v, want verified", tt.name, err)
		case tt.want != "" && (!errors.As(err, &re) || re.Reason != tt.want):
			t.Errorf("%s: %v\nwant REJECTED: %s", tt.name, err, tt.want)
		}
	}
}

// --- An overridden STS endpoint -----------------------------------------------------------------

// attackOverriddenSTS runs the pinned image on a VM the operator inserts, with its STS
// endpoint overridden to another loopback port (an override the launch policy allows), where
// Secundus captures the attestation token. The condition pins the deployment's endpoints, so
// the captured token is worth nothing at the real STS.
func attackOverriddenSTS(t *testing.T, e *env, ref, operatorToken string) {
	var (
		mu       sync.Mutex
		captured []string
	)
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err == nil && r.PostForm.Get("subject_token") != "" {
			mu.Lock()
			captured = append(captured, r.PostForm.Get("subject_token"))
			mu.Unlock()
		}
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
	}))
	defer capture.Close()
	// Secundus's operator inserts the VM itself (it holds actAs on workload-sa), with the
	// metadata the launch workflow writes and one endpoint changed.
	const runID = "run-sts-override"
	env := e.s.NewLaunchArgument(runID, ref, nil).Env
	env["CSPIPE_STS_ENDPOINT"] = capture.URL
	items := []*computepb.Items{
		{Key: proto.String("tee-image-reference"), Value: proto.String(ref)},
		{Key: proto.String("tee-restart-policy"), Value: proto.String("Never")},
		{Key: proto.String("tee-env-CSPIPE_RUN_ID"), Value: proto.String(runID)},
		{Key: proto.String("tee-env-CSPIPE_SHARD_INDEX"), Value: proto.String("0")},
		{Key: proto.String("tee-env-CSPIPE_SHARD_COUNT"), Value: proto.String("1")},
	}
	for k, v := range env {
		if k != "CSPIPE_RUN_ID" && k != "CSPIPE_SHARD_INDEX" && k != "CSPIPE_SHARD_COUNT" {
			items = append(items, &computepb.Items{Key: proto.String("tee-env-" + k), Value: proto.String(v)})
		}
	}
	c, err := compute.NewInstancesRESTClient(t.Context(), option.WithEndpoint(e.s.Compute.URL()),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: operatorToken})))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const vm = "cspipe-sts-override"
	op, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: stack.Secundus.ID, Zone: stack.Zone, InstanceResource: &computepb.Instance{
		Name:                       proto.String(vm),
		MachineType:                proto.String("zones/" + stack.Zone + "/machineTypes/n2d-standard-2"),
		ConfidentialInstanceConfig: &computepb.ConfidentialInstanceConfig{ConfidentialInstanceType: proto.String("SEV")},
		ShieldedInstanceConfig:     &computepb.ShieldedInstanceConfig{EnableSecureBoot: proto.Bool(true)},
		Scheduling:                 &computepb.Scheduling{OnHostMaintenance: proto.String("TERMINATE")},
		Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true), AutoDelete: proto.Bool(true), InitializeParams: &computepb.AttachedDiskInitializeParams{
			SourceImage: proto.String("projects/confidential-space-images/global/images/family/confidential-space")}}},
		NetworkInterfaces: []*computepb.NetworkInterface{{Network: proto.String("global/networks/default"),
			AccessConfigs: []*computepb.AccessConfig{{Type: proto.String("ONE_TO_ONE_NAT"), Name: proto.String("External NAT")}}}},
		ServiceAccounts: []*computepb.ServiceAccount{{Email: proto.String(stack.WorkloadSA), Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}}},
		Metadata:        &computepb.Metadata{Items: items},
	}})
	if err != nil {
		t.Fatalf("the operator inserts the workload VM: %v", err)
	}
	if err := op.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if op, err := c.Delete(context.Background(), &computepb.DeleteInstanceRequest{Project: stack.Secundus.ID, Zone: stack.Zone, Instance: vm}); err != nil {
			t.Errorf("deleting %s: %v", vm, err)
		} else if err := op.Wait(context.Background()); err != nil {
			t.Errorf("deleting %s: %v", vm, err)
		}
	}()
	// The wait covers the VM's boot too (pull and unpack of the image, which under the race
	// detector on a loaded machine took over 20 s): the same bound as launch's.
	s := e.summary(runID, 90*time.Second)
	if s.Status != records.StatusFailed {
		t.Errorf("workload with STS overridden: summary %+v, want failed", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(captured) == 0 {
		t.Fatal("the workload never sent its token to the overridden endpoint: the case proves nothing")
	}
	claims, err := e.s.Issuer.Verify(captured[0], attest.DefaultAudience)
	if err != nil {
		t.Fatalf("the captured token is not a valid attestation token: %v", err)
	}
	sub, _ := claims["submods"].(map[string]any)
	ctr, _ := sub["container"].(map[string]any)
	if got := ctr["image_digest"]; got != ref[strings.Index(ref, "@")+1:] {
		t.Fatalf("captured token attests %v, want the pinned digest (else the refusal is for another reason)", got)
	}
	code, body := stsExchange(t, e, captured[0])
	var answer map[string]string
	_ = json.Unmarshal(body, &answer)
	if code != http.StatusBadRequest || answer["error"] != "unauthorized_client" || answer["error_description"] != stsRejected {
		t.Errorf("token captured through an overridden STS endpoint: STS %d %s\nwant 400 unauthorized_client %q", code, body, stsRejected)
	}
}

// --- Unbounded or unbounded-lifetime subject tokens ---------------------------------------------

func attackTokenBounds(t *testing.T, e *env, ref string) {
	claims, err := e.s.Issuer.Claims(workloadFor(ref), attest.DefaultAudience, nil)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(edit func(jwt.MapClaims)) string {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		edit(c)
		tok, err := e.s.Issuer.SignUnsafe(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	year := now.AddDate(1, 0, 0)
	wantSTS(t, e, "token without exp", sign(func(c jwt.MapClaims) { delete(c, "exp") }), http.StatusBadRequest,
		"The ID Token is missing the required exp claim.")
	long := sign(func(c jwt.MapClaims) { c["iat"], c["nbf"], c["exp"] = now.Unix(), now.Unix(), year.Unix() })
	wantSTS(t, e, "token living a year", long, http.StatusBadRequest,
		fmt.Sprintf("The ID Token lifetime (exp - iat) of %d seconds exceeds the maximum of 86400 seconds.", year.Unix()-now.Unix()))
	huge := sign(func(c jwt.MapClaims) { c["padding"] = strings.Repeat("x", 70<<10) })
	wantSTS(t, e, "token over 64 KiB", huge, http.StatusBadRequest, "The subject token is larger than 65536 bytes.")
}

// --- The model the operator names -------------------------------------------------------------

// attackOperatorModelPin: Primus keeps a valid archive in its model bucket under a name
// RegisterModel does not register (a draft). Secundus launches the approved image with
// tee-env CSPIPE_MODEL naming the draft and CSPIPE_MODEL_SHA256 its sha256 (which a first run
// with a wrong pin used to print). The pin alone must not release it: the run fails for want of
// an accepted manifest, and the draft is never read.
func attackOperatorModelPin(t *testing.T, e *env, ref string) {
	arc, err := stack.SyntheticModel(modelgen.Config{Arch: "v1", Width: 0.25, Size: 32, Classes: 10, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	const draft = "drafts/next-model.tar"
	e.upload(e.primus, stack.ModelBucket, draft, arc)
	const runID = "run-operator-model-pin"
	state := e.launch(runID, ref, map[string]string{
		"CSPIPE_MODEL":        "gs://" + stack.ModelBucket + "/" + draft,
		"CSPIPE_MODEL_SHA256": receipt.SHA256(arc),
	}, false)
	s := e.summary(runID, 30*time.Second)
	if s.Status != records.StatusFailed || !strings.Contains(s.Error, "the model is not registered") {
		t.Errorf("run with an operator-pinned unregistered model: summary status %q error %q (execution %s), want failed: not registered", s.Status, s.Error, state)
	}
	if n := e.s.GCS.ObjectReads(stack.ModelBucket, draft); n != 0 {
		t.Errorf("the unregistered draft was read %d times", n)
	}
}
