package stack

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Env is what a person exports to reach the stack with Google's own clients, unchanged: the
// emulator variables the client libraries honour (STORAGE_EMULATOR_HOST with its http://
// scheme, as Node and Python need; PUBSUB_EMULATOR_HOST), gcloud's endpoint overrides for
// Storage and the Pub/Sub REST surface (with credentials off: anonymous callers are the local
// operator), the project, and the stack's other endpoints.
func (s *Stack) Env() map[string]string {
	return map[string]string{
		"STORAGE_EMULATOR_HOST":                   s.GCS.URL(),
		"PUBSUB_EMULATOR_HOST":                    s.PubSubServer.Addr,
		"GOOGLE_CLOUD_PROJECT":                    Secundus.ID,
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE": s.GCS.URL() + "/",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB":  s.PubSubREST.URL() + "/",
		"CLOUDSDK_AUTH_DISABLE_CREDENTIALS":       "true",
		"CLOUDSDK_CORE_PROJECT":                   Secundus.ID,
		"CSPIPE_PUBSUB_REST":                      s.PubSubREST.URL(),
		"CSPIPE_STS_ENDPOINT":                     s.IAM.TokenURL(),
		"CSPIPE_IAM_ENDPOINT":                     s.IAM.URL(),
		"CSPIPE_ISSUER":                           s.Issuer.URL(),
		"CSPIPE_REGISTRY":                         s.Registry.Host(),
		"CSPIPE_COMPUTE":                          s.Compute.URL() + "/compute/v1",
		"CSPIPE_EXECUTIONS_ADDR":                  s.executionsAddr,
		"CSPIPE_FUNCTIONS":                        s.functionsURL,
	}
}

// PrintEndpoints writes every endpoint of the stack.
func (s *Stack) PrintEndpoints(w io.Writer) {
	fmt.Fprintln(w, "endpoints:")
	fmt.Fprintf(w, "  Cloud Storage (IAM enforced)   %s\n", s.GCS.URL())
	fmt.Fprintf(w, "  Pub/Sub (gRPC)                 %s\n", s.PubSubServer.Addr)
	fmt.Fprintf(w, "  Pub/Sub (REST)                 %s/v1/\n", s.PubSubREST.URL())
	fmt.Fprintf(w, "  STS / IAM Credentials / IAM    %s\n", s.IAM.URL())
	fmt.Fprintf(w, "  attestation verifier (OIDC)    %s\n", s.Issuer.URL())
	fmt.Fprintf(w, "  Artifact Registry              %s  (Primus: %s, Secundus: %s)\n", s.Registry.Host(), s.PrimusRepository(), s.SecundusRepository())
	fmt.Fprintf(w, "  Compute Engine                 %s/compute/v1\n", s.Compute.URL())
	fmt.Fprintf(w, "  Workflows executions (gRPC)    %s\n", s.executionsAddr)
	fmt.Fprintf(w, "  functions                      %s/<EntryPoint>  (status: %s%s)\n", s.functionsURL, s.functionsURL, StatusPath)
}

// GsutilCommand is how gsutil reaches the local Cloud Storage at host (HOST:PORT): through the
// XML API over plain http (-o overrides only, no boto file). Its JSON API client always speaks
// https, which the stack does not serve.
func GsutilCommand(host string) string {
	h, port, _ := strings.Cut(host, ":")
	return "gsutil -o GSUtil:prefer_api=xml -o Credentials:gs_host=" + h + " -o Credentials:gs_port=" + port + " -o Boto:is_secure=False"
}

// PrintReady writes the short block a person needs to use the stack: where to drop images,
// where results arrive, the environment, and one copy-paste line per client.
func (s *Stack) PrintReady(w io.Writer, p *Provisioned) {
	env := s.Env()
	sub := "projects/" + Secundus.ID + "/subscriptions/" + ResultsSub
	fmt.Fprintln(w, "ready.")
	fmt.Fprintf(w, "  drop images into  gs://%s/  (JPEG or PNG, any object name)\n", InputBucket)
	fmt.Fprintf(w, "  results arrive on projects/%s/topics/%s  — read %s\n", Secundus.ID, ResultsTopic, sub)
	fmt.Fprintln(w, "                    (one message per image, then a summary per run)")
	if p != nil {
		fmt.Fprintf(w, "  pinned image      %s\n", p.ImageRef)
		fmt.Fprintf(w, "  model             %s (sha256 %s…)\n", p.ModelObject, p.ModelSHA256[:12])
	} else {
		fmt.Fprintf(w, "  nothing pinned or registered (--empty): push the workload to %s and upload a model\n", s.PrimusRepository())
		fmt.Fprintf(w, "                    archive (cspipe model pack) to gs://%s/%s; uploads wait for both\n", ModelBucket, ModelObject)
	}
	fmt.Fprintln(w, "environment (anonymous callers are the local operator; no token needed):")
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if k == "STORAGE_EMULATOR_HOST" || k == "PUBSUB_EMULATOR_HOST" || k == "GOOGLE_CLOUD_PROJECT" ||
			k == "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE" || k == "CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB" ||
			k == "CLOUDSDK_AUTH_DISABLE_CREDENTIALS" || k == "CLOUDSDK_CORE_PROJECT" {
			fmt.Fprintf(w, "  export %s=%s\n", k, env[k])
		}
	}
	fmt.Fprintln(w, "try:")
	fmt.Fprintf(w, "  curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' '%s/upload/storage/v1/b/%s/o?uploadType=media&name=photo.jpg'\n", s.GCS.URL(), InputBucket)
	fmt.Fprintf(w, "  gcloud storage cp photo.jpg gs://%s/ && gcloud pubsub subscriptions pull %s --auto-ack --limit 10\n", InputBucket, ResultsSub)
	fmt.Fprintf(w, "  %s cp photo.jpg gs://%s/\n", GsutilCommand(s.GCS.Host()), InputBucket)
	fmt.Fprintf(w, "  Go:     storage.NewClient(ctx) → .Bucket(%q).Object(\"photo.jpg\").NewWriter(ctx); pubsub.NewClient(ctx, %q) → .Subscriber(%q).Receive(ctx, f)\n", InputBucket, Secundus.ID, ResultsSub)
	fmt.Fprintf(w, "  Node:   new Storage().bucket('%s').upload('photo.jpg'); new PubSub().subscription('%s').on('message', m => { …; m.ack() })\n", InputBucket, ResultsSub)
	fmt.Fprintf(w, "  Python: storage.Client().bucket('%s').blob('photo.jpg').upload_from_filename('photo.jpg'); pubsub_v1.SubscriberClient().subscribe('%s', callback)\n", InputBucket, sub)
	fmt.Fprintln(w, "  cspipe local status    (pins, models, runs)")
}
