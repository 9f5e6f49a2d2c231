package stack

import (
	"fmt"
	"strings"

	"github.com/cspipe/cspipe/infra/local/iam"
	tfgrant "github.com/cspipe/cspipe/infra/terraform"
	"github.com/cspipe/cspipe/internal/policy"
)

// UnpinnedDigest is the digest in the provider's initial condition: no image has it, so the
// provider admits nothing until PinWorkloadImage pins a pushed image.
var UnpinnedDigest = "sha256:" + strings.Repeat("0", 64)

// InitialCondition is the provider's condition before the first pin.
func InitialCondition(repo string) (string, error) {
	return policy.Policy{
		ImageRepository: repo, ImageDigest: UnpinnedDigest, ServiceAccounts: []string{WorkloadSA},
	}.Render()
}

// PrimusRepository is Primus's workload image repository in the local registry.
func (s *Stack) PrimusRepository() string { return s.Registry.Repository(Primus.ID, WorkloadImageName) }

// SecundusRepository is Secundus's own repository (the codelab's "unauthorized workload").
func (s *Stack) SecundusRepository() string {
	return s.Registry.Repository(Secundus.ID, WorkloadImageName)
}

type grant struct {
	bucket, member, role string
}

// terraformAccounts maps the member references of Terraform's storage grants (root, reference)
// to the stack's identities. The stack runs each project's functions under one account, so an
// account here holds the union of its functions' grants; every condition stays as Terraform
// writes it.
var terraformAccounts = map[[2]string]string{
	{"primus", "google_service_account.pin.email"}:        PrimusFunctionsSA,
	{"primus", "google_service_account.register.email"}:   PrimusFunctionsSA,
	{"primus", "google_service_account.primus.email"}:     PrimusSA,
	{"primus", "local.schedule_run_sa"}:                   SecundusFunctionsSA,
	{"secundus", "google_service_account.schedule.email"}: SecundusFunctionsSA,
	{"secundus", "google_service_account.publish.email"}:  SecundusFunctionsSA,
	{"secundus", "google_service_account.workload.email"}: WorkloadSA,
	{"secundus", "google_service_account.workflow.email"}: WorkflowSA,
}

// terraformBuckets maps Terraform's google_storage_bucket labels to the stack's buckets.
var terraformBuckets = map[[2]string]string{
	{"primus", "audit"}:     AuditBucket,
	{"primus", "model"}:     ModelBucket,
	{"secundus", "input"}:   InputBucket,
	{"secundus", "results"}: ResultsBucket,
	{"secundus", "state"}:   StateBucket,
}

// terraformLocals are the values of the locals Terraform's storage conditions interpolate.
var terraformLocals = map[string]string{
	"audit_bucket": AuditBucket, "model_bucket": ModelBucket,
	"input_bucket": InputBucket, "results_bucket": ResultsBucket, "state_bucket": StateBucket,
}

// grantStorage makes the Cloud Storage grants: the deployment's own identities get exactly the
// grants infra/terraform declares, read from the .tf files with their IAM Condition text (so a
// condition that is wrong in Terraform refuses the same calls here); the people of both
// companies get the grants the demo and the local operator need.
func (s *Stack) grantStorage(grants []tfgrant.StorageGrant) error {
	for _, g := range grants {
		member, ok := terraformAccounts[[2]string{g.Root, g.Member}]
		if !ok {
			return fmt.Errorf("stack: terraform %s grants %s on a bucket to %s, which the local stack does not map to an identity", g.Root, g.Role, g.Member)
		}
		bucket, ok := terraformBuckets[[2]string{g.Root, g.Bucket}]
		if !ok {
			return fmt.Errorf("stack: terraform %s grants on google_storage_bucket.%s, which the local stack does not create", g.Root, g.Bucket)
		}
		cond := iam.Condition{Title: g.ConditionTitle, Expression: g.Condition}
		if err := s.IAM.GrantIf(iam.BucketResource(bucket).Name, iam.ServiceAccount(member), g.Role, cond); err != nil {
			return fmt.Errorf("stack: terraform %s google_storage_bucket_iam_member.%s: %w", g.Root, g.Name, err)
		}
	}
	people := []grant{
		{ModelBucket, iam.User(PrimusAdmin), "roles/storage.objectAdmin"},
		{AuditBucket, iam.User(PrimusAdmin), "roles/storage.objectViewer"},
		{InputBucket, iam.User(SecundusAdmin), "roles/storage.objectAdmin"},
		{ResultsBucket, iam.User(SecundusAdmin), "roles/storage.objectViewer"},
		{StateBucket, iam.User(SecundusAdmin), "roles/storage.objectViewer"},
	}
	for _, g := range people {
		if err := s.IAM.SetBucketRoles(g.bucket, g.member, g.role); err != nil {
			return fmt.Errorf("stack: granting %s on %s to %s: %w", g.role, g.bucket, g.member, err)
		}
	}
	return nil
}

// TerraformStorageGrants reads the storage grants of infra/terraform for the stack's buckets.
func TerraformStorageGrants() ([]tfgrant.StorageGrant, error) {
	g, err := tfgrant.StorageGrants(terraformLocals)
	if err != nil {
		return nil, fmt.Errorf("stack: reading the storage grants of infra/terraform: %w", err)
	}
	return g, nil
}

func (s *Stack) createProjects() error {
	for _, b := range []string{ModelBucket, AuditBucket, InputBucket, ResultsBucket, StateBucket} {
		s.GCS.CreateBucket(b)
	}
	grants, err := TerraformStorageGrants()
	if err != nil {
		return err
	}
	if err := s.grantStorage(grants); err != nil {
		return err
	}
	sa := iam.ServiceAccount
	cond, err := InitialCondition(s.registryRepoPlaceholder())
	if err != nil {
		return fmt.Errorf("stack: rendering the initial condition: %w", err)
	}
	p := iam.Provider{
		ProjectID: Primus.ID, ProjectNumber: Primus.Number, Pool: Pool, ID: ProviderID,
		IssuerURI: s.Issuer.URL(), AllowedAudiences: []string{"https://sts.googleapis.com"},
		AttributeCondition: cond,
	}
	if err := s.IAM.AddProvider(p); err != nil {
		return fmt.Errorf("stack: creating the WIP provider: %w", err)
	}
	if err := s.IAM.GrantServiceAccountRole(PrimusSA, p.PoolPrincipalSet(), iam.RoleWorkloadIdentityUser); err != nil {
		return fmt.Errorf("stack: granting workloadIdentityUser on primus-sa: %w", err)
	}
	s.IAM.AllowProviderUpdate(sa(PrimusFunctionsSA))
	return nil
}

// registryRepoPlaceholder names Primus's repository before the registry has a port; the
// initial condition pins an impossible digest, so the repository in it does not matter.
func (s *Stack) registryRepoPlaceholder() string {
	return "127.0.0.1/" + Primus.ID + "/workloads/" + WorkloadImageName
}
