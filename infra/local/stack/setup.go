package stack

import (
	"fmt"
	"strings"

	"github.com/cspipe/cspipe/infra/local/iam"
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

func (s *Stack) createProjects() error {
	for _, b := range []string{ModelBucket, AuditBucket, InputBucket, ResultsBucket, StateBucket} {
		s.GCS.CreateBucket(b)
	}
	sa := iam.ServiceAccount
	grants := []grant{
		{ModelBucket, sa(PrimusSA), "roles/storage.objectViewer"},
		{ModelBucket, sa(PrimusFunctionsSA), "roles/storage.objectAdmin"},
		{ModelBucket, iam.User(PrimusAdmin), "roles/storage.objectAdmin"},
		{AuditBucket, sa(PrimusFunctionsSA), "roles/storage.objectAdmin"},
		{AuditBucket, iam.User(PrimusAdmin), "roles/storage.objectViewer"},
		// Primus shares its pin pointer with Secundus's ScheduleRun (which image runs next).
		{AuditBucket, sa(SecundusFunctionsSA), "roles/storage.objectViewer"},
		{InputBucket, sa(SecundusFunctionsSA), "roles/storage.objectAdmin"},
		{InputBucket, sa(WorkloadSA), "roles/storage.objectViewer"},
		{InputBucket, iam.User(SecundusAdmin), "roles/storage.objectAdmin"},
		{ResultsBucket, sa(WorkloadSA), "roles/storage.objectUser"},
		{ResultsBucket, sa(SecundusFunctionsSA), "roles/storage.objectAdmin"},
		{ResultsBucket, sa(WorkflowSA), "roles/storage.objectAdmin"},
		{ResultsBucket, iam.User(SecundusAdmin), "roles/storage.objectViewer"},
		// ScheduleRun's bookkeeping: the function writes it, the workflow seals batches in it,
		// the workload reads its batch's items; the operator may look.
		{StateBucket, sa(SecundusFunctionsSA), "roles/storage.objectAdmin"},
		{StateBucket, sa(WorkflowSA), "roles/storage.objectAdmin"},
		{StateBucket, sa(WorkloadSA), "roles/storage.objectViewer"},
		{StateBucket, iam.User(SecundusAdmin), "roles/storage.objectViewer"},
	}
	for _, g := range grants {
		if err := s.IAM.SetBucketRoles(g.bucket, g.member, g.role); err != nil {
			return fmt.Errorf("stack: granting %s on %s to %s: %w", g.role, g.bucket, g.member, err)
		}
	}
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
