package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/pubsub/v2"
	executions "cloud.google.com/go/workflows/executions/apiv1"
	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"github.com/cspipe/cspipe/infra/local/attest"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Refusal texts, as Google's services word them.
const (
	stsRejected  = "The given credential is rejected by the attribute condition."
	badSignature = "Unable to verify the ID Token signature."
	pubsubDenied = "User not authorized to perform this action."
)

// TestAttacks plays Secundus's side as an attacker against one running stack (filesystem
// storage backend): every bypass of issue 11's list and the token cases that already held.
// Each case asserts the exact refusal; at the end, the model was never read by any of them,
// the condition still pins the legitimate image, and the audit log is untouched.
func TestAttacks(t *testing.T) {
	e := newEnv(t, stack.Options{DataDir: t.TempDir()})
	ref := e.push(e.s.PrimusRepository(), "v1", nil)
	e.pinned(ref)
	e.uploadModel()
	cond := e.s.Condition()
	e.waitObject(e.primus, stack.AuditBucket, "pins/latest.json", 30*time.Second)
	audit, err := e.s.GCS.Fake().GetObject(stack.AuditBucket, "pins/latest.json")
	if err != nil {
		t.Fatalf("the pin's audit record: %v", err)
	}
	modelReads := e.s.GCS.ObjectReads(stack.ModelBucket, stack.ModelObject)
	if modelReads == 0 {
		t.Fatal("RegisterModel's read of the model was not counted: the read counter cannot prove anything")
	}
	operatorToken := e.s.IAM.MintAccessToken(iam.User(stack.LocalOperator))

	t.Run("storage", func(t *testing.T) { attackStorage(t, e) })
	t.Run("compute", func(t *testing.T) { attackCompute(t, e, ref, operatorToken) })
	t.Run("functions endpoint", func(t *testing.T) { attackFunctions(t, e, ref) })
	t.Run("registry", func(t *testing.T) { attackRegistry(t, e, operatorToken) })
	t.Run("executions", func(t *testing.T) { attackExecutions(t, e, ref) })
	t.Run("impersonate primus-sa", func(t *testing.T) { attackImpersonation(t, e, operatorToken) })
	t.Run("pubsub", func(t *testing.T) { attackPubSub(t, e, ref) })
	t.Run("gcr messages", func(t *testing.T) { attackGCRMessages(t, e, ref) })
	t.Run("forged pin events", func(t *testing.T) { attackPinEvents(t, e, ref) })
	t.Run("receipts", func(t *testing.T) { attackReceipts(t, e, ref) })
	t.Run("overridden STS endpoint", func(t *testing.T) { attackOverriddenSTS(t, e, ref, operatorToken) })
	t.Run("token bounds", func(t *testing.T) { attackTokenBounds(t, e, ref) })
	t.Run("operator-pinned unregistered model", func(t *testing.T) { attackOperatorModelPin(t, e, ref) })
	good := t.Run("tokens", func(t *testing.T) { attackTokens(t, e, ref) })

	if got := e.s.Condition(); got != cond {
		t.Errorf("the attribute condition changed:\n%s\nwant\n%s", got, cond)
	}
	if now, err := e.s.GCS.Fake().GetObject(stack.AuditBucket, "pins/latest.json"); err != nil || string(now.Content) != string(audit.Content) {
		t.Errorf("the audit log's latest pin changed: %q, %v", now.Content, err)
	}
	if n := e.s.GCS.ObjectReads(stack.ModelBucket, stack.ModelObject); n != modelReads {
		t.Errorf("the model was read %d times during the attacks", n-modelReads)
	}

	// A legitimate push after the forged event dated 2099 still pins (the ordering was not
	// captured), and a token of the image pinned before is refused from then on.
	old := mintFor(t, e, ref, attest.DefaultAudience, nil)
	t.Run("legitimate push after the forged events", func(t *testing.T) {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		newRef, err := e.s.Push(t.Context(), img, e.s.PrimusRepository(), "v2")
		if err != nil {
			t.Fatal(err)
		}
		e.pinned(newRef)
		// The provider is PATCHed before the chain's head moves: wait for the head.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			now, err := e.s.GCS.Fake().GetObject(stack.AuditBucket, "pins/latest.json")
			if err == nil && strings.Contains(string(now.Content), newRef[strings.Index(newRef, "@")+1:]) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the audit log's latest pin never became the new push: %q, %v", now.Content, err)
			}
		}
		t.Run("replay after re-pin", func(t *testing.T) {
			if !good {
				t.Skip("the token cases failed")
			}
			wantSTS(t, e, "token of the image pinned before", old, http.StatusBadRequest, stsRejected)
		})
	})
	if n := e.s.GCS.ObjectReads(stack.ModelBucket, stack.ModelObject); n != modelReads {
		t.Errorf("the model was read %d times after the re-pin", n-modelReads)
	}
}

// --- Cloud Storage ----------------------------------------------------------------------------

func attackStorage(t *testing.T, e *env) {
	model := stack.ModelBucket + "/" + stack.ModelObject
	traversal := "../" + model
	tests := []struct {
		name, method, path string
		code               int
		msg                string
	}{
		{"read the model (operator)", "GET", "/storage/v1/b/" + stack.ModelBucket + "/o/" + url.PathEscape(stack.ModelObject) + "?alt=media", 403,
			"admin@secundus.example does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist)."},
		{"raw .. in the path", "GET", "/" + stack.InputBucket + "/" + traversal, 400, `Invalid request path: "." and ".." segments are not allowed.`},
		{"%2F-encoded traversal", "GET", "/storage/v1/b/" + stack.InputBucket + "/o/" + url.PathEscape(traversal) + "?alt=media", 400,
			`Invalid object name "../` + model + `": a "." or ".." path segment is not allowed in the local stack`},
		{"%2e%2e traversal", "GET", "/download/storage/v1/b/" + stack.InputBucket + "/o/%2e%2e/" + model + "?alt=media", 400,
			`Invalid object name "../` + model + `"`},
		{"copyTo the audit log", "POST", "/storage/v1/b/" + stack.InputBucket + "/o/x/copyTo/b/" + stack.InputBucket + "/o/" + url.PathEscape("../"+stack.AuditBucket+"/pins/latest.json"), 400,
			`Invalid object name "../` + stack.AuditBucket + `/pins/latest.json"`}, // the copy's destination, as the backend would take it
		{"media upload named ..", "POST", "/upload/storage/v1/b/" + stack.InputBucket + "/o?uploadType=media&name=" + url.QueryEscape("../"+stack.AuditBucket+"/pins/latest.json"), 400,
			`Invalid object name "../` + stack.AuditBucket + `/pins/latest.json"`},
		{"missing bucket", "GET", "/storage/v1/b/no-such-bucket/o", 404, "The specified bucket does not exist."},
		// The operator keeps its own grants: it lists its results (JSON API, with or without
		// the /storage/v1 prefix).
		{"operator lists its results", "GET", "/storage/v1/b/" + stack.ResultsBucket + "/o", 200, `"kind":"storage#objects"`},
		{"operator lists its results (/b/…)", "GET", "/b/" + stack.ResultsBucket + "/o", 200, `"kind":"storage#objects"`},
	}
	for _, tt := range tests {
		var body io.Reader
		if tt.method == "POST" {
			body = strings.NewReader(`{"condition":"true"}`)
		}
		req, err := http.NewRequestWithContext(t.Context(), tt.method, e.s.GCS.URL()+tt.path, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req) // no Authorization: the emulator convention
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := jsonText(tt.msg)
		if tt.code == 200 {
			want = tt.msg
		}
		if resp.StatusCode != tt.code || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %s\nwant %d %q", tt.name, resp.StatusCode, b, tt.code, tt.msg)
		}
	}
}

// --- Compute Engine ---------------------------------------------------------------------------

func attackCompute(t *testing.T, e *env, ref, operatorToken string) {
	client := func(token string) *compute.InstancesClient {
		opts := []option.ClientOption{option.WithEndpoint(e.s.Compute.URL())}
		if token == "" {
			opts = append(opts, option.WithoutAuthentication())
		} else {
			opts = append(opts, option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})))
		}
		c, err := compute.NewInstancesRESTClient(t.Context(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	vm := func(name, account string) *computepb.InsertInstanceRequest {
		return &computepb.InsertInstanceRequest{Project: stack.Secundus.ID, Zone: stack.Zone, InstanceResource: &computepb.Instance{
			Name:            proto.String(name),
			ServiceAccounts: []*computepb.ServiceAccount{{Email: proto.String(account)}},
			Metadata:        &computepb.Metadata{Items: []*computepb.Items{{Key: proto.String("tee-image-reference"), Value: proto.String(ref)}}},
		}}
	}
	actAs := func(account string) string {
		return "The user does not have access to service account '" + account + "'.  User: 'admin@secundus.example'.  Ask a project owner to grant you the iam.serviceAccountUser role on the service account"
	}
	tests := []struct {
		name  string
		token string
		req   *computepb.InsertInstanceRequest
		code  int
		msg   string
	}{
		{"anonymous VM as primus-sa", "", vm("cspipe-evil-1", stack.PrimusSA), 401, "Request is missing required authentication credential."},
		{"operator VM as primus-sa", operatorToken, vm("cspipe-evil-2", stack.PrimusSA), 400, actAs(stack.PrimusSA)},
		{"operator VM as Primus's functions account", operatorToken, vm("cspipe-evil-3", stack.PrimusFunctionsSA), 400, actAs(stack.PrimusFunctionsSA)},
	}
	for _, tt := range tests {
		_, err := client(tt.token).Insert(t.Context(), tt.req)
		var gerr *googleapi.Error
		if !errors.As(err, &gerr) || gerr.Code != tt.code || !strings.Contains(gerr.Message, tt.msg) {
			t.Errorf("%s: %v\nwant %d %q", tt.name, err, tt.code, tt.msg)
		}
	}
	if n := len(e.s.Compute.Instances()); n != 0 {
		t.Errorf("%d VMs exist after the refused inserts", n)
	}
}

// --- The functions endpoint -------------------------------------------------------------------

func attackFunctions(t *testing.T, e *env, ref string) {
	target := e.s.FunctionsURL() + "/PinWorkloadImage"
	repo := ref[:strings.Index(ref, "@")]
	forged, _ := json.Marshal(map[string]any{"message": map[string]any{
		"data":        []byte(`{"action":"INSERT","digest":"` + repo + `@sha256:` + strings.Repeat("e", 64) + `"}`),
		"messageId":   "forged-2099",
		"publishTime": "2099-01-01T00:00:00Z",
	}, "subscription": "projects/" + stack.Primus.ID + "/subscriptions/eventarc-pin-workload-image"})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	selfSigned, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": e.s.IAM.URL(), "aud": target, "email": stack.TriggerSA(stack.Primus),
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).SignedString(key)
	// The workload can get ID tokens for workload-sa from its metadata server.
	workloadID, err := e.s.IAM.MintIDToken(stack.WorkloadSA, target)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, authz string
		code        int
		msg         string
	}{
		{"anonymous CloudEvent dated 2099", "", 403, "Your client does not have permission to get URL <code>/PinWorkloadImage</code> from this server."},
		{"self-signed ID token", "Bearer " + selfSigned, 401, "Your client does not have permission to the requested URL <code>/PinWorkloadImage</code>."},
		{"workload-sa's ID token", "Bearer " + workloadID, 403, "Your client does not have permission to get URL <code>/PinWorkloadImage</code> from this server."},
	}
	for _, tt := range tests {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(string(forged)))
		for k, v := range map[string]string{"Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": "forged-2099",
			"ce-type": "google.cloud.pubsub.topic.v1.messagePublished", "ce-source": "//pubsub.googleapis.com/projects/" + stack.Primus.ID + "/topics/gcr",
			"ce-time": "2099-01-01T00:00:00Z"} {
			req.Header.Set(k, v)
		}
		if tt.authz != "" {
			req.Header.Set("Authorization", tt.authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.msg) {
			t.Errorf("%s: %d %s\nwant %d %q", tt.name, resp.StatusCode, b, tt.code, tt.msg)
		}
	}
}

// --- Artifact Registry ------------------------------------------------------------------------

func attackRegistry(t *testing.T, e *env, operatorToken string) {
	// Any image of Secundus's will do: a small one keeps the test fast.
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.PushAs(t.Context(), iam.User(stack.LocalOperator), img, e.s.SecundusRepository(), "mine"); err != nil {
		t.Fatalf("the operator pushes to its own repository: %v", err)
	}
	into := mustRef(t, e.s.PrimusRepository()+":latest")
	err = remote.Write(into, img, remote.WithAuth(&authn.Basic{Username: "oauth2accesstoken", Password: operatorToken}), remote.WithContext(t.Context()))
	if err == nil || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Errorf("operator pushes into Primus's repository: %v, want 403 Forbidden", err)
	}
	_, err = remote.Image(mustRef(t, e.s.PrimusRepository()+":v1"), remote.WithContext(t.Context()))
	const anon = `Unauthenticated request. Unauthenticated requests do not have permission "artifactregistry.repositories.downloadArtifacts" on resource "projects/primus-local/locations/us-central1/repositories/workloads" (or it may not exist)`
	if err == nil || !strings.Contains(err.Error(), anon) {
		t.Errorf("anonymous pull: %v\nwant %q", err, anon)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// --- Workflows executions ---------------------------------------------------------------------

func attackExecutions(t *testing.T, e *env, ref string) {
	arg, _ := json.Marshal(e.s.NewLaunchArgument("attack", ref, nil))
	req := &executionspb.CreateExecutionRequest{Parent: stack.WorkflowParent(), Execution: &executionspb.Execution{Argument: string(arg)}}
	dial := func(extra ...grpc.DialOption) *executions.Client {
		opts := []option.ClientOption{option.WithEndpoint(e.s.ExecutionsAddr()), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))}
		for _, o := range extra {
			opts = append(opts, option.WithGRPCDialOption(o))
		}
		c, err := executions.NewClient(t.Context(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	_, err := dial().CreateExecution(t.Context(), req)
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous CreateExecution: %v, want UNAUTHENTICATED", err)
	}
	primus := grpc.WithPerRPCCredentials(plainBearer(e.s.IAM.MintAccessToken(iam.User(stack.PrimusAdmin))))
	_, err = dial(primus).CreateExecution(t.Context(), req)
	want := "Permission 'workflows.executions.create' denied on resource '" + stack.WorkflowParent() + "' (or it may not exist)."
	if status.Code(err) != codes.PermissionDenied || status.Convert(err).Message() != want {
		t.Errorf("CreateExecution without workflows.invoker: %v\nwant %q", err, want)
	}
}

type plainBearer string

func (p plainBearer) GetRequestMetadata(_ context.Context, _ ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(p)}, nil
}
func (plainBearer) RequireTransportSecurity() bool { return false }

// --- IAM Credentials --------------------------------------------------------------------------

// attackImpersonation: neither the operator nor the VM's own account may mint primus-sa's
// tokens; only the attested pool's principalSet may (roles/iam.workloadIdentityUser).
func attackImpersonation(t *testing.T, e *env, operatorToken string) {
	const want = "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."
	for name, tok := range map[string]string{
		"operator":    operatorToken,
		"workload-sa": e.s.IAM.MintAccessToken(iam.ServiceAccount(stack.WorkloadSA)),
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.s.IAM.ImpersonationURL(stack.PrimusSA),
			strings.NewReader(`{"scope":["https://www.googleapis.com/auth/cloud-platform"]}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), jsonText(want)) {
			t.Errorf("%s impersonates primus-sa: %d %s\nwant 403 %q", name, resp.StatusCode, b, want)
		}
	}
}

// --- Pub/Sub ----------------------------------------------------------------------------------

func attackPubSub(t *testing.T, e *env, ref string) {
	// Google's client in emulator mode: no credentials, so the caller is the local operator.
	c, err := pubsub.NewClient(t.Context(), stack.Secundus.ID, option.WithEndpoint(e.s.PubSubServer.Addr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	repo := ref[:strings.Index(ref, "@")]
	for _, tt := range []struct{ name, topic, data string }{
		{"forged gcr message", "projects/" + stack.Primus.ID + "/topics/" + stack.GCRTopic,
			`{"action":"INSERT","digest":"` + repo + `@sha256:` + strings.Repeat("d", 64) + `"}`},
		{"fake result", "projects/" + stack.Secundus.ID + "/topics/" + stack.ResultsTopic, `{"image":"photos/a.png","label":"forged"}`},
	} {
		p := c.Publisher(tt.topic)
		_, err := p.Publish(t.Context(), &pubsub.Message{Data: []byte(tt.data)}).Get(t.Context())
		p.Stop()
		if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), pubsubDenied) {
			t.Errorf("%s: %v, want PERMISSION_DENIED %q", tt.name, err, pubsubDenied)
		}
	}
	// Draining Primus's Eventarc subscription would starve PinWorkloadImage.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err = c.Subscriber("projects/"+stack.Primus.ID+"/subscriptions/eventarc-pin-workload-image").Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		t.Errorf("the operator received a message of Primus's subscription")
		m.Nack()
	})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), pubsubDenied) {
		t.Errorf("streaming pull of Primus's subscription: %v, want PERMISSION_DENIED %q", err, pubsubDenied)
	}
	// The operator still reads its own results subscription.
	own, stop := context.WithTimeout(t.Context(), time.Second)
	defer stop()
	if err := c.Subscriber("projects/"+stack.Secundus.ID+"/subscriptions/"+stack.ResultsSub).Receive(own, func(_ context.Context, m *pubsub.Message) { m.Nack() }); err != nil {
		t.Errorf("the operator's own results subscription: %v", err)
	}
}

// --- gcr messages the registry's own agent might carry ---------------------------------------

// attackGCRMessages publishes, as Artifact Registry's service agent (the only publisher the
// topic admits), messages that must not move the pin: a CEL-injection "digest" and a tag alone.
func attackGCRMessages(t *testing.T, e *env, ref string) {
	before := e.s.Condition()
	c, err := pubsub.NewClient(t.Context(), stack.Primus.ID, option.WithEndpoint(e.s.PubSubServer.Addr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		option.WithGRPCDialOption(grpc.WithPerRPCCredentials(plainBearer(e.s.IAM.MintAccessToken(iam.ServiceAccount(stack.ArtifactRegistryAgent(stack.Primus)))))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	repo := ref[:strings.Index(ref, "@")]
	delivered := e.s.Eventarc.Delivered("pin-workload-image")
	p := c.Publisher("projects/" + stack.Primus.ID + "/topics/" + stack.GCRTopic)
	defer p.Stop()
	for _, data := range []string{
		`{"action":"INSERT","digest":"` + repo + `@sha256:` + strings.Repeat("a", 64) + `' || true || '"}`,
		`{"action":"INSERT","tag":"` + repo + `:latest"}`,
	} {
		if _, err := p.Publish(t.Context(), &pubsub.Message{Data: []byte(data)}).Get(t.Context()); err != nil {
			t.Fatalf("publishing as the registry's agent: %v", err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for e.s.Eventarc.Delivered("pin-workload-image") < delivered+2 {
		if time.Now().After(deadline) {
			t.Fatal("PinWorkloadImage never answered the two messages")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := e.s.Condition(); got != before {
		t.Errorf("a gcr message moved the condition to\n%s", got)
	}
}

// --- Tokens at STS ----------------------------------------------------------------------------

// workloadFor is what the launcher measures for a production VM running ref as workload-sa.
func workloadFor(ref string) attest.Workload {
	return attest.Workload{
		ImageReference: ref, ImageDigest: ref[strings.Index(ref, "@")+1:], ImageID: "sha256:" + strings.Repeat("1", 64),
		RestartPolicy: "Never", ServiceAccounts: []string{stack.WorkloadSA},
		Project: stack.Secundus.ID, ProjectNumber: stack.Secundus.Number, Zone: stack.Zone,
		InstanceName: "cspipe-attack-0", InstanceID: "1",
	}
}

func mintFor(t *testing.T, e *env, ref, aud string, edit func(*attest.Workload)) string {
	t.Helper()
	w := workloadFor(ref)
	if edit != nil {
		edit(&w)
	}
	tok, err := e.s.Issuer.Mint(w, aud, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func attackTokens(t *testing.T, e *env, ref string) {
	claims, err := e.s.Issuer.Claims(workloadFor(ref), attest.DefaultAudience, nil)
	if err != nil {
		t.Fatal(err)
	}
	signWith := func(key any, method jwt.SigningMethod, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = e.s.Issuer.KeyID()
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	forgedKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edited := func(f func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		f(c)
		return c
	}
	expired := edited(func(c jwt.MapClaims) {
		c["iat"], c["nbf"], c["exp"] = time.Now().Add(-3*time.Hour).Unix(), time.Now().Add(-3*time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix()
	})
	expiredTok, err := e.s.Issuer.SignUnsafe(expired)
	if err != nil {
		t.Fatal(err)
	}
	malformed, err := e.s.Issuer.SignUnsafe(edited(func(c jwt.MapClaims) { c["submods"] = "not an object"; c["swname"] = 42 }))
	if err != nil {
		t.Fatal(err)
	}
	other := "other-sa@" + stack.Secundus.ID + ".iam.gserviceaccount.com"
	unpinned := e.s.SecundusRepository() + "@sha256:" + strings.Repeat("b", 64)
	tagged := e.s.PrimusRepository() + ":v1"
	tests := []struct {
		name, token string
		code        int
		msg         string
	}{
		{"the pinned image (control)", mintFor(t, e, ref, attest.DefaultAudience, nil), 200, "access_token"},
		{"forged key", signWith(forgedKey, jwt.SigningMethodRS256, claims), 400, badSignature},
		{"alg none", signWith(jwt.UnsafeAllowNoneSignatureType, jwt.SigningMethodNone, claims), 400, badSignature},
		{"expired", expiredTok, 400, "ID Token expired at "},
		{"wrong audience", mintFor(t, e, ref, "https://evil.example", nil), 400, "The audience in ID Token [https://evil.example] does not match the expected audience."},
		{"malformed claims", malformed, 400, stsRejected},
		{"debug image", mintFor(t, e, ref, attest.DefaultAudience, func(w *attest.Workload) { w.Debug = true }), 400, stsRejected},
		{"wrong service account", mintFor(t, e, ref, attest.DefaultAudience, func(w *attest.Workload) { w.ServiceAccounts = []string{other} }), 400, stsRejected},
		{"unpinned image", mintFor(t, e, unpinned, attest.DefaultAudience, nil), 400, stsRejected},
		{"tag for digest", mintFor(t, e, ref, attest.DefaultAudience, func(w *attest.Workload) {
			w.ImageReference, w.ImageDigest = tagged, "latest"
		}), 400, stsRejected},
	}
	for _, tt := range tests {
		wantSTS(t, e, tt.name, tt.token, tt.code, tt.msg)
	}
}

// wantSTS exchanges token at the stack's STS for Primus's provider and checks the answer.
func wantSTS(t *testing.T, e *env, name, token string, code int, msg string) {
	t.Helper()
	got, b := stsExchange(t, e, token)
	if got != code || !strings.Contains(string(b), jsonText(msg)) {
		t.Errorf("%s: STS %d %s\nwant %d %q", name, got, b, code, msg)
	}
}

// stsExchange posts token to the stack's STS for Primus's provider, as Google's
// external-account client does, and returns the answer.
func stsExchange(t *testing.T, e *env, token string) (int, []byte) {
	t.Helper()
	form := url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"audience":             {"//iam.googleapis.com/" + stack.ProviderName()},
		"scope":                {"https://www.googleapis.com/auth/cloud-platform"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:jwt"},
		"subject_token":        {token},
	}
	resp, err := http.PostForm(e.s.IAM.TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, b
}

// jsonText is s as it appears inside a JSON string.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
