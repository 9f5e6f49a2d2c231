package iam

import (
	"errors"
	"net/http"
	"strings"
)

// Permissions the local services check, beyond Cloud Storage's (buckets.go).
const (
	PermInstancesCreate   = "compute.instances.create"
	PermInstancesGet      = "compute.instances.get"
	PermInstancesList     = "compute.instances.list"
	PermInstancesDelete   = "compute.instances.delete"
	PermZoneOperationsGet = "compute.zoneOperations.get"
	PermActAs             = "iam.serviceAccounts.actAs"
	PermDownloadArtifacts = "artifactregistry.repositories.downloadArtifacts"
	PermUploadArtifacts   = "artifactregistry.repositories.uploadArtifacts"
	PermDeleteArtifacts   = "artifactregistry.repositories.deleteArtifacts"
	PermExecutionsCreate  = "workflows.executions.create"
	PermExecutionsGet     = "workflows.executions.get"
	PermExecutionsList    = "workflows.executions.list"
	PermExecutionsCancel  = "workflows.executions.cancel"
	PermRunInvoke         = "run.routes.invoke"
	PermTopicsPublish     = "pubsub.topics.publish"
	PermTopicsUpdate      = "pubsub.topics.update"
	PermSubscriptionsUse  = "pubsub.subscriptions.consume"
	PermSubscriptionsNew  = "pubsub.subscriptions.create"
	PermSubscriptionsEdit = "pubsub.subscriptions.update"
)

// rolePermissions maps the predefined roles the local stack understands (Google's names) to
// the permissions among those it checks. A role not listed here cannot be granted.
var rolePermissions = map[string][]string{
	"roles/storage.objectViewer":       {PermObjectsGet, PermObjectsList},
	"roles/storage.objectCreator":      {PermObjectsCreate},
	"roles/storage.objectUser":         {PermObjectsGet, PermObjectsList, PermObjectsCreate, PermObjectsDelete, PermObjectsUpdate},
	"roles/storage.objectAdmin":        {PermObjectsGet, PermObjectsList, PermObjectsCreate, PermObjectsDelete, PermObjectsUpdate},
	"roles/storage.admin":              {PermObjectsGet, PermObjectsList, PermObjectsCreate, PermObjectsDelete, PermObjectsUpdate, PermBucketsGet, PermBucketsUpdate, PermBucketsDelete},
	"roles/storage.legacyBucketReader": {PermBucketsGet, PermObjectsList},
	"roles/storage.legacyBucketWriter": {PermBucketsGet, PermObjectsList, PermObjectsCreate, PermObjectsDelete},
	"roles/storage.legacyBucketOwner":  {PermBucketsGet, PermBucketsUpdate, PermObjectsList, PermObjectsCreate, PermObjectsDelete},
	"roles/storage.legacyObjectReader": {PermObjectsGet},

	"roles/compute.instanceAdmin.v1": {PermInstancesCreate, PermInstancesGet, PermInstancesList, PermInstancesDelete, PermZoneOperationsGet},
	"roles/compute.viewer":           {PermInstancesGet, PermInstancesList, PermZoneOperationsGet},
	"roles/iam.serviceAccountUser":   {PermActAs},
	RoleWorkloadIdentityUser:         {PermGetAccessToken},
	RoleTokenCreator:                 {PermGetAccessToken},

	"roles/artifactregistry.reader":    {PermDownloadArtifacts},
	"roles/artifactregistry.writer":    {PermDownloadArtifacts, PermUploadArtifacts},
	"roles/artifactregistry.repoAdmin": {PermDownloadArtifacts, PermUploadArtifacts, PermDeleteArtifacts},

	"roles/workflows.invoker": {PermExecutionsCreate, PermExecutionsGet, PermExecutionsList, PermExecutionsCancel},
	"roles/workflows.viewer":  {PermExecutionsGet, PermExecutionsList},

	"roles/run.invoker": {PermRunInvoke},

	"roles/pubsub.publisher":  {PermTopicsPublish},
	"roles/pubsub.subscriber": {PermSubscriptionsUse},
	"roles/pubsub.editor":     {PermTopicsPublish, PermTopicsUpdate, PermSubscriptionsUse, PermSubscriptionsNew, PermSubscriptionsEdit},
}

// Resource builders with the names and types IAM Conditions see.

// Project is the resource "projects/ID" (only its bindings apply; parent of the others).
func Project(id string) string { return "projects/" + id }

// BucketResource is a Cloud Storage bucket.
func BucketResource(bucket string) Resource {
	return Resource{Name: "projects/_/buckets/" + bucket, Type: "storage.googleapis.com/Bucket", Service: "storage.googleapis.com"}
}

// ObjectResource is a Cloud Storage object: IAM Conditions see its own name
// (projects/_/buckets/B/objects/O) and type; the bindings that apply are its bucket's.
func ObjectResource(bucket, object string) Resource {
	return Resource{Name: "projects/_/buckets/" + bucket + "/objects/" + object, Type: "storage.googleapis.com/Object",
		Service: "storage.googleapis.com", Parents: []string{BucketResource(bucket).Name}}
}

// InstanceResource is a Compute Engine instance of project.
func InstanceResource(project, zone, name string) Resource {
	return Resource{Name: "projects/" + project + "/zones/" + zone + "/instances/" + name,
		Type: "compute.googleapis.com/Instance", Service: "compute.googleapis.com", Parents: []string{Project(project)}}
}

// ServiceAccountResource is a service account of project.
func ServiceAccountResource(project, email string) Resource {
	return Resource{Name: "projects/" + project + "/serviceAccounts/" + email,
		Type: "iam.googleapis.com/ServiceAccount", Service: "iam.googleapis.com", Parents: []string{Project(project)}}
}

// RepositoryResource is an Artifact Registry repository.
func RepositoryResource(project, location, repo string) Resource {
	return Resource{Name: "projects/" + project + "/locations/" + location + "/repositories/" + repo,
		Type: "artifactregistry.googleapis.com/Repository", Service: "artifactregistry.googleapis.com", Parents: []string{Project(project)}}
}

// WorkflowResource is a Workflows workflow (name projects/P/locations/L/workflows/W).
func WorkflowResource(name string) Resource {
	return Resource{Name: name, Type: "workflows.googleapis.com/Workflow", Service: "workflows.googleapis.com", Parents: []string{projectOf(name)}}
}

// RunServiceResource is a Cloud Run service (a gen2 function).
func RunServiceResource(project, location, service string) Resource {
	return Resource{Name: "projects/" + project + "/locations/" + location + "/services/" + service,
		Type: "run.googleapis.com/Service", Service: "run.googleapis.com", Parents: []string{Project(project)}}
}

// SubscriptionResource is a Pub/Sub subscription (name projects/P/subscriptions/S).
func SubscriptionResource(name string) Resource {
	return Resource{Name: name, Type: "pubsub.googleapis.com/Subscription", Service: "pubsub.googleapis.com", Parents: []string{projectOf(name)}}
}

// TopicResource is a Pub/Sub topic (name projects/P/topics/T).
func TopicResource(name string) Resource {
	return Resource{Name: name, Type: "pubsub.googleapis.com/Topic", Service: "pubsub.googleapis.com", Parents: []string{projectOf(name)}}
}

// projectOf returns "projects/P" of a name that starts so, or "".
func projectOf(name string) string {
	parts := splitN(name, 3)
	if len(parts) >= 2 && parts[0] == "projects" {
		return "projects/" + parts[1]
	}
	return ""
}

func splitN(s string, n int) []string { return strings.SplitN(s, "/", n) }

// ErrNoCredentials is returned by Caller for a request without an Authorization header.
var ErrNoCredentials = errors.New("the request has no credentials")

// ErrBadCredentials is returned by Caller for an Authorization header that is not a live token.
var ErrBadCredentials = errors.New("the request's credentials are not valid")

// Caller returns the principal of r's bearer token. A request without an Authorization header
// gets ErrNoCredentials; a malformed header or an unknown or expired token ErrBadCredentials.
func (s *Server) Caller(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", ErrNoCredentials
	}
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", ErrBadCredentials
	}
	p, ok := s.Principal(h[len(prefix):])
	if !ok {
		return "", ErrBadCredentials
	}
	return p, nil
}

// ServiceAccountProject returns the project id of a user-managed service account email
// (NAME@PROJECT.iam.gserviceaccount.com), or "".
func ServiceAccountProject(email string) string {
	_, dom, ok := strings.Cut(email, "@")
	if !ok {
		return ""
	}
	p, ok := strings.CutSuffix(dom, ".iam.gserviceaccount.com")
	if !ok {
		return ""
	}
	return p
}

// Email strips "serviceAccount:" or "user:" from a principal, as Google's messages show it.
func Email(principal string) string {
	for _, p := range []string{"serviceAccount:", "user:"} {
		principal = strings.TrimPrefix(principal, p)
	}
	return principal
}
