package stack

import "fmt"

// Project is one of the two local "projects".
type Project struct {
	ID     string
	Number string
}

// The two parties of the codelab, as local projects.
var (
	Primus   = Project{ID: "primus-local", Number: "100000000001"}
	Secundus = Project{ID: "secundus-local", Number: "200000000002"}
)

// Names of the resources the stack creates.
const (
	Zone              = "us-central1-a"
	Location          = "us-central1"
	Pool              = "cspipe-pool"
	ProviderID        = "attestation-verifier"
	WorkloadImageName = "cspipe-workload"
	ResultsTopic      = "results"
	ResultsSub        = "results-demo"
	GCRTopic          = "gcr"
	// notificationsTopic receives fake-gcs-server's object notifications for every bucket.
	notificationsTopic = "gcs-notifications"
)

// Buckets of the two projects.
var (
	ModelBucket   = Primus.ID + "-models"
	AuditBucket   = Primus.ID + "-audit"
	InputBucket   = Secundus.ID + "-input"
	ResultsBucket = Secundus.ID + "-results"
	// StateBucket holds ScheduleRun's bookkeeping (batches, claims, runs), out of the user's buckets.
	StateBucket = Secundus.ID + "-cspipe-state"
)

func serviceAccount(p Project, name string) string {
	return fmt.Sprintf("%s@%s.iam.gserviceaccount.com", name, p.ID)
}

// Identities of the stack.
var (
	// PrimusSA reads the model; the attested workload impersonates it through the pool.
	PrimusSA = serviceAccount(Primus, "primus-sa")
	// WorkloadSA is the VM's service account (Secundus).
	WorkloadSA = serviceAccount(Secundus, "workload-sa")
	// PrimusFunctionsSA runs PinWorkloadImage and RegisterModel.
	PrimusFunctionsSA = serviceAccount(Primus, "functions-sa")
	// SecundusFunctionsSA runs ScheduleRun and PublishResults.
	SecundusFunctionsSA = serviceAccount(Secundus, "functions-sa")
	// WorkflowSA runs the launch workflow.
	WorkflowSA = serviceAccount(Secundus, "workflow-sa")
	// PrimusAdmin and SecundusAdmin are the people of each company (uploads from the demo).
	PrimusAdmin   = "admin@primus.example"
	SecundusAdmin = "admin@secundus.example"
	// LocalOperator is who a caller without credentials is (the emulator convention: Google's
	// clients send none under STORAGE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST): Secundus's
	// operator, with exactly Secundus's operator grants and nothing of Primus's.
	LocalOperator = SecundusAdmin
)
