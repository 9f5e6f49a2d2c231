package stack

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"github.com/cspipe/cspipe/infra/local/iam"
	tfgrant "github.com/cspipe/cspipe/infra/terraform"
	"golang.org/x/oauth2"
	"google.golang.org/grpc"
)

// Service agents and deployment identities of the two projects, as Google names them.
var (
	// GCSServiceAgent publishes Secundus's bucket notifications.
	GCSServiceAgent = fmt.Sprintf("service-%s@gs-project-accounts.iam.gserviceaccount.com", Secundus.Number)
	// PrimusBuildSA is Cloud Build's account: the only pusher to Primus's repository.
	PrimusBuildSA = serviceAccount(Primus, "cspipe-build")
)

// ArtifactRegistryAgent is the service agent that publishes a project's `gcr` messages.
func ArtifactRegistryAgent(p Project) string {
	return fmt.Sprintf("service-%s@gcp-sa-artifactregistry.iam.gserviceaccount.com", p.Number)
}

// TriggerSA is the account a project's Eventarc triggers invoke its functions as.
func TriggerSA(p Project) string { return serviceAccount(p, "eventarc-trigger") }

// operatorSubscriptionsRole lets the local operator create and manage subscriptions (but not
// publish) in Secundus's project.
var operatorSubscriptionsRole = "projects/" + Secundus.ID + "/roles/cspipeSubscriptionManager"

// vmReaperRole is Terraform's cspipeVmReaper (its permissions read from infra/terraform): what the
// sweeper needs to delete the VMs of runs that are over (read one by name, delete it), nothing to
// create, stop or list.
var vmReaperRole = "projects/" + Secundus.ID + "/roles/cspipeVmReaper"

// primusRepo and secundusRepo are the registry repositories' IAM resources.
func repoResource(p Project) string {
	return iam.RepositoryResource(p.ID, Location, "workloads").Name
}

// grantServices makes the grants of every service other than Cloud Storage, mirroring
// infra/terraform: who may create VMs and as which account, invoke the workflow and the
// functions, push and pull images, publish on which topic.
func (s *Stack) grantServices() error {
	sa, user := iam.ServiceAccount, iam.User
	secundus, primus := iam.Project(Secundus.ID), iam.Project(Primus.ID)
	workloadSA := iam.ServiceAccountResource(Secundus.ID, WorkloadSA).Name
	vmsOnly := iam.Condition{Title: "cspipe-vms-only",
		Expression: `resource.type != "compute.googleapis.com/Instance" || resource.name.extract("/instances/{name}").startsWith("cspipe-")`}
	if err := s.IAM.DefineRole(operatorSubscriptionsRole, iam.PermSubscriptionsNew, iam.PermSubscriptionsEdit); err != nil {
		return err
	}
	// The sweeper's role and condition are Terraform's own, read from the root: a permission or a
	// condition missing there is missing here.
	reaper, err := tfgrant.CustomRoleGrant("secundus", "vm_reaper", "schedule_reaps_vms")
	if err != nil {
		return err
	}
	if err := s.IAM.DefineRole(vmReaperRole, reaper.Permissions...); err != nil {
		return err
	}
	type g struct {
		resource, member, role string
		cond                   iam.Condition
	}
	grants := []g{
		// Compute: the workflow creates cspipe-… VMs and attaches workload-sa; the operator
		// runs its own VMs as workload-sa. Nobody of Secundus may act as Primus's accounts.
		{secundus, sa(WorkflowSA), "roles/compute.instanceAdmin.v1", vmsOnly},
		{workloadSA, sa(WorkflowSA), "roles/iam.serviceAccountUser", iam.Condition{}},
		{secundus, user(LocalOperator), "roles/compute.instanceAdmin.v1", iam.Condition{}},
		{workloadSA, user(LocalOperator), "roles/iam.serviceAccountUser", iam.Condition{}},
		// ScheduleRun's sweeper reads and deletes the cspipe-… VMs of runs that are over.
		{secundus, sa(SecundusFunctionsSA), vmReaperRole, iam.Condition{Title: reaper.ConditionTitle, Expression: reaper.Condition}},
		// Workflows: ScheduleRun and the operator start executions.
		{secundus, sa(SecundusFunctionsSA), "roles/workflows.invoker", iam.Condition{}},
		{secundus, user(LocalOperator), "roles/workflows.invoker", iam.Condition{}},
		// Functions: each project's Eventarc triggers invoke its functions.
		{primus, sa(TriggerSA(Primus)), "roles/run.invoker", iam.Condition{}},
		{secundus, sa(TriggerSA(Secundus)), "roles/run.invoker", iam.Condition{}},
		// Artifact Registry: Cloud Build (and Primus's people) push Primus's image; the VM and
		// PinWorkloadImage read it. Secundus pushes its own repository.
		{repoResource(Primus), sa(PrimusBuildSA), "roles/artifactregistry.writer", iam.Condition{}},
		{repoResource(Primus), user(PrimusAdmin), "roles/artifactregistry.writer", iam.Condition{}},
		{repoResource(Primus), sa(WorkloadSA), "roles/artifactregistry.reader", iam.Condition{}},
		{repoResource(Primus), sa(PrimusFunctionsSA), "roles/artifactregistry.reader", iam.Condition{}},
		{repoResource(Secundus), user(LocalOperator), "roles/artifactregistry.writer", iam.Condition{}},
		{repoResource(Secundus), sa(WorkloadSA), "roles/artifactregistry.reader", iam.Condition{}},
		// Pub/Sub: `gcr` only by the registry's service agent, results only by PublishResults,
		// notifications only by the storage service agent. The stack (topics, Eventarc's
		// subscriptions) administers both projects; the operator reads and subscribes.
		{"projects/" + Primus.ID + "/topics/" + GCRTopic, sa(ArtifactRegistryAgent(Primus)), "roles/pubsub.publisher", iam.Condition{}},
		{"projects/" + Secundus.ID + "/topics/" + GCRTopic, sa(ArtifactRegistryAgent(Secundus)), "roles/pubsub.publisher", iam.Condition{}},
		{"projects/" + Secundus.ID + "/topics/" + ResultsTopic, sa(SecundusFunctionsSA), "roles/pubsub.publisher", iam.Condition{}},
		{"projects/" + Secundus.ID + "/topics/" + notificationsTopic, sa(GCSServiceAgent), "roles/pubsub.publisher", iam.Condition{}},
		{primus, user(adminPrincipal), "roles/pubsub.editor", iam.Condition{}},
		{secundus, user(adminPrincipal), "roles/pubsub.editor", iam.Condition{}},
		{secundus, user(LocalOperator), "roles/pubsub.subscriber", iam.Condition{}},
		{secundus, user(LocalOperator), operatorSubscriptionsRole, iam.Condition{}},
	}
	for _, g := range grants {
		if err := s.IAM.GrantIf(g.resource, g.member, g.role, g.cond); err != nil {
			return fmt.Errorf("stack: granting %s on %s to %s: %w", g.role, g.resource, g.member, err)
		}
	}
	return nil
}

// executionsRule is the permission each Workflows Executions call needs, on its workflow.
func executionsRule(_ string, req any) (string, iam.Resource, bool) {
	workflowOf := func(execution string) string {
		wf, _, _ := strings.Cut(execution, "/executions/")
		return wf
	}
	switch r := req.(type) {
	case *executionspb.CreateExecutionRequest:
		return iam.PermExecutionsCreate, iam.WorkflowResource(r.GetParent()), true
	case *executionspb.GetExecutionRequest:
		return iam.PermExecutionsGet, iam.WorkflowResource(workflowOf(r.GetName())), true
	case *executionspb.CancelExecutionRequest:
		return iam.PermExecutionsCancel, iam.WorkflowResource(workflowOf(r.GetName())), true
	case *executionspb.ListExecutionsRequest:
		return iam.PermExecutionsList, iam.WorkflowResource(r.GetParent()), true
	}
	return "", iam.Resource{}, false
}

// pubsubRule is the permission each Pub/Sub call needs (for StreamingPull, checked on the
// stream's first request). Reads (get, list) need only an authenticated caller.
func pubsubRule(_ string, req any) (string, iam.Resource, bool) {
	switch r := req.(type) {
	case *pubsubpb.PublishRequest:
		return iam.PermTopicsPublish, iam.TopicResource(r.GetTopic()), true
	case *pubsubpb.Topic:
		return iam.PermTopicsUpdate, iam.TopicResource(r.GetName()), true
	case *pubsubpb.UpdateTopicRequest:
		return iam.PermTopicsUpdate, iam.TopicResource(r.GetTopic().GetName()), true
	case *pubsubpb.DeleteTopicRequest:
		return iam.PermTopicsUpdate, iam.TopicResource(r.GetTopic()), true
	case *pubsubpb.DetachSubscriptionRequest:
		return iam.PermSubscriptionsEdit, iam.SubscriptionResource(r.GetSubscription()), true
	case *pubsubpb.Subscription:
		return iam.PermSubscriptionsNew, iam.SubscriptionResource(r.GetName()), true
	case *pubsubpb.UpdateSubscriptionRequest:
		return iam.PermSubscriptionsEdit, iam.SubscriptionResource(r.GetSubscription().GetName()), true
	case *pubsubpb.DeleteSubscriptionRequest:
		return iam.PermSubscriptionsEdit, iam.SubscriptionResource(r.GetSubscription()), true
	case *pubsubpb.ModifyPushConfigRequest:
		return iam.PermSubscriptionsEdit, iam.SubscriptionResource(r.GetSubscription()), true
	case *pubsubpb.SeekRequest:
		return iam.PermSubscriptionsEdit, iam.SubscriptionResource(r.GetSubscription()), true
	case *pubsubpb.StreamingPullRequest:
		return iam.PermSubscriptionsUse, iam.SubscriptionResource(r.GetSubscription()), true
	case *pubsubpb.PullRequest:
		return iam.PermSubscriptionsUse, iam.SubscriptionResource(r.GetSubscription()), true
	case *pubsubpb.AcknowledgeRequest:
		return iam.PermSubscriptionsUse, iam.SubscriptionResource(r.GetSubscription()), true
	case *pubsubpb.ModifyAckDeadlineRequest:
		return iam.PermSubscriptionsUse, iam.SubscriptionResource(r.GetSubscription()), true
	case *pubsubpb.CreateSnapshotRequest:
		return iam.PermSubscriptionsEdit, iam.SubscriptionResource(r.GetSubscription()), true
	}
	return "", iam.Resource{}, false
}

// pubsubDenied is Pub/Sub's PERMISSION_DENIED text.
func pubsubDenied(string, string, iam.Resource) string {
	return "User not authorized to perform this action."
}

// bearerCreds sends an access token on a plaintext loopback gRPC connection (the stand-ins
// serve no TLS; Google's oauth credentials refuse to travel without it).
type bearerCreds struct{ ts oauth2.TokenSource }

func (b bearerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	t, err := b.ts.Token()
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + t.AccessToken}, nil
}

func (bearerCreds) RequireTransportSecurity() bool { return false }

// grpcAs is the dial option that authenticates every call as principal.
func (s *Stack) grpcAs(principal string) grpc.DialOption {
	return grpc.WithPerRPCCredentials(bearerCreds{s.TokenSource(principal)})
}

// invokerOnly serves h only to callers presenting an ID token for audience (the function's
// URL) of an account holding run.invoker on the function's service, as Cloud Run does.
func (s *Stack) invokerOnly(p Project, service, audience string, h http.Handler) http.Handler {
	res := iam.RunServiceResource(p.ID, Location, service)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "Bearer "
		authz := r.Header.Get("Authorization")
		if len(authz) <= len(prefix) || !strings.EqualFold(authz[:len(prefix)], prefix) {
			runError(w, http.StatusForbidden, "Forbidden", "Your client does not have permission to get URL <code>"+r.URL.Path+"</code> from this server.")
			return
		}
		email, err := s.IAM.VerifyIDToken(authz[len(prefix):], audience)
		if err != nil {
			s.log.Info("functions: refused a request", "function", service, "error", err.Error())
			runError(w, http.StatusUnauthorized, "Unauthorized", "Your client does not have permission to the requested URL <code>"+r.URL.Path+"</code>.")
			return
		}
		if !s.IAM.Check(iam.ServiceAccount(email), res, iam.PermRunInvoke) {
			s.log.Info("functions: caller lacks run.invoker", "function", service, "principal", email)
			runError(w, http.StatusForbidden, "Forbidden", "Your client does not have permission to get URL <code>"+r.URL.Path+"</code> from this server.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// runError writes Cloud Run's HTML refusal page.
func runError(w http.ResponseWriter, code int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "<html><head>\n<meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n<title>%d %s</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n<h1>Error: %s</h1>\n<h2>%s</h2>\n<h2></h2>\n</body></html>\n", code, title, title, msg)
}
