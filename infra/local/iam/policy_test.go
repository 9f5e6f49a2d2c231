package iam

import (
	"log/slog"
	"testing"
	"time"
)

func newPolicyServer(t *testing.T, now time.Time) *Server {
	t.Helper()
	s, err := New(WithLogger(slog.New(slog.DiscardHandler)), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestPolicyConditions(t *testing.T) {
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s := newPolicyServer(t, now)
	wf := ServiceAccount("workflow@p.iam.gserviceaccount.com")
	// The Terraform grant of the launch workflow: instance admin on cspipe-… VMs only.
	vmsOnly := Condition{Title: "cspipe-vms-only", Expression: `resource.type != "compute.googleapis.com/Instance" || resource.name.extract("/instances/{name}").startsWith("cspipe-")`}
	must(t, s.GrantIf(Project("p"), wf, "roles/compute.instanceAdmin.v1", vmsOnly))
	// A resource.name condition on a service without resource attributes never matches.
	must(t, s.GrantIf(Project("p"), wf, "roles/workflows.invoker", Condition{Title: "any", Expression: `resource.name.startsWith("projects/")`}))
	must(t, s.GrantIf(Project("p"), wf, "roles/pubsub.publisher", Condition{Title: "until", Expression: `request.time < timestamp("2026-12-01T00:00:00Z")`}))
	must(t, s.GrantIf(Project("p"), wf, "roles/pubsub.subscriber", Condition{Title: "expired", Expression: `request.time < timestamp("2026-01-01T00:00:00Z")`}))
	must(t, s.Grant(ServiceAccountResource("p", "workload@p.iam.gserviceaccount.com").Name, wf, "roles/iam.serviceAccountUser"))

	tests := []struct {
		name string
		res  Resource
		perm string
		want bool
	}{
		{"cspipe VM", InstanceResource("p", "z", "cspipe-run-0"), PermInstancesCreate, true},
		{"other VM", InstanceResource("p", "z", "evil-0"), PermInstancesCreate, false},
		{"VM of another project", InstanceResource("q", "z", "cspipe-run-0"), PermInstancesCreate, false},
		{"workflow resource.name", WorkflowResource("projects/p/locations/l/workflows/launch"), PermExecutionsCreate, false},
		{"publish before the end date", TopicResource("projects/p/topics/t"), PermTopicsPublish, true},
		{"subscribe after the end date", TopicResource("projects/p/topics/t"), PermSubscriptionsUse, false},
		{"actAs on the granted account", ServiceAccountResource("p", "workload@p.iam.gserviceaccount.com"), PermActAs, true},
		{"actAs on another account", ServiceAccountResource("p", "primus-sa@p.iam.gserviceaccount.com"), PermActAs, false},
		{"permission outside the role", InstanceResource("p", "z", "cspipe-x"), PermActAs, false},
	}
	for _, tt := range tests {
		if got := s.Check(wf, tt.res, tt.perm); got != tt.want {
			t.Errorf("%s: Check(%s, %s) = %v, want %v", tt.name, tt.res.Name, tt.perm, got, tt.want)
		}
	}
	if s.Check("", InstanceResource("p", "z", "cspipe-x"), PermInstancesCreate) {
		t.Error("anonymous caller holds a grant made to a service account")
	}
	must(t, s.Grant(Project("p"), "allUsers", "roles/compute.viewer"))
	if !s.Check("", InstanceResource("p", "z", "x"), PermInstancesGet) {
		t.Error("allUsers grant not honoured for an anonymous caller")
	}
}

func TestPolicyRejectsBadGrants(t *testing.T) {
	s := newPolicyServer(t, time.Now())
	if err := s.Grant(Project("p"), "user:a@b", "roles/owner"); err == nil {
		t.Error("unknown role granted")
	}
	if err := s.GrantIf(Project("p"), "user:a@b", "roles/run.invoker", Condition{Expression: `resource.name`}); err == nil {
		t.Error("non-bool condition accepted")
	}
	if err := s.GrantIf(Project("p"), "user:a@b", "roles/run.invoker", Condition{Expression: `resource.name.startsWith(`}); err == nil {
		t.Error("malformed condition accepted")
	}
}

func TestExtract(t *testing.T) {
	for _, tt := range []struct{ s, tmpl, want string }{
		{"projects/p/zones/z/instances/cspipe-1", "/instances/{name}", "cspipe-1"},
		{"projects/_/buckets/b/objects/a/b.jpg", "/objects/{name}", "a/b.jpg"},
		{"projects/p/zones/z/instances/x", "/zones/{zone}/", "z"},
		{"projects/p", "/instances/{name}", ""},
		{"projects/p/zones/z", "/zones/{zone}/", ""},
	} {
		if got := extract(tt.s, tt.tmpl); got != tt.want {
			t.Errorf("extract(%q, %q) = %q, want %q", tt.s, tt.tmpl, got, tt.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSessionTokenDoesNotExpire: tokens handed to the user of `cspipe local up` outlive the
// hour an ordinary access token lasts; ordinary ones still expire.
func TestSessionTokenDoesNotExpire(t *testing.T) {
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, err := New(WithLogger(slog.New(slog.DiscardHandler)), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	session := s.MintSessionToken(User("admin@secundus.example"))
	hourly := s.MintAccessToken(User("admin@secundus.example"))
	now = now.Add(30 * 24 * time.Hour)
	if p, ok := s.Principal(session); !ok || p != User("admin@secundus.example") {
		t.Errorf("session token after 30 days: %q, %v", p, ok)
	}
	if _, ok := s.Principal(hourly); ok {
		t.Error("an hourly access token is still valid after 30 days")
	}
}
