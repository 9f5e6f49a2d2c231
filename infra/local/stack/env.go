package stack

import (
	"fmt"
	"io"
	"maps"
	"slices"
)

// Env is what a person exports to reach the stack with ordinary clients.
func (s *Stack) Env() map[string]string {
	return map[string]string{
		"STORAGE_EMULATOR_HOST":  s.GCS.Host(),
		"PUBSUB_EMULATOR_HOST":   s.PubSubServer.Addr,
		"CSPIPE_STS_ENDPOINT":    s.IAM.TokenURL(),
		"CSPIPE_IAM_ENDPOINT":    s.IAM.URL(),
		"CSPIPE_ISSUER":          s.Issuer.URL(),
		"CSPIPE_REGISTRY":        s.Registry.Host(),
		"CSPIPE_COMPUTE":         s.Compute.URL() + "/compute/v1",
		"CSPIPE_EXECUTIONS_ADDR": s.executionsAddr,
	}
}

// PrintEndpoints writes the endpoints and export lines for Env.
func (s *Stack) PrintEndpoints(w io.Writer) {
	env := s.Env()
	fmt.Fprintln(w, "endpoints:")
	fmt.Fprintf(w, "  Cloud Storage (IAM enforced)   %s\n", s.GCS.URL())
	fmt.Fprintf(w, "  Pub/Sub (gRPC)                 %s\n", s.PubSubServer.Addr)
	fmt.Fprintf(w, "  STS / IAM Credentials / IAM    %s\n", s.IAM.URL())
	fmt.Fprintf(w, "  attestation verifier (OIDC)    %s\n", s.Issuer.URL())
	fmt.Fprintf(w, "  Artifact Registry              %s  (Primus: %s, Secundus: %s)\n", s.Registry.Host(), s.PrimusRepository(), s.SecundusRepository())
	fmt.Fprintf(w, "  Compute Engine                 %s/compute/v1\n", s.Compute.URL())
	fmt.Fprintf(w, "  Workflows executions (gRPC)    %s\n", s.executionsAddr)
	fmt.Fprintf(w, "  functions                      %s/<EntryPoint>\n", s.functionsURL)
	fmt.Fprintf(w, "buckets: gs://%s gs://%s (Primus)  gs://%s gs://%s (Secundus)\n", ModelBucket, AuditBucket, InputBucket, ResultsBucket)
	fmt.Fprintf(w, "results topic: projects/%s/topics/%s (subscription %s)\n", Secundus.ID, ResultsTopic, ResultsSub)
	fmt.Fprintln(w, "export:")
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(w, "  export %s=%s\n", k, env[k])
	}
}
