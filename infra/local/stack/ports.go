package stack

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// Ports are the loopback ports of the stack's services; 0 picks a free port.
type Ports struct {
	Storage    int `json:"storage"`     // Cloud Storage JSON/XML API (STORAGE_EMULATOR_HOST)
	PubSub     int `json:"pubsub"`      // Pub/Sub gRPC (PUBSUB_EMULATOR_HOST)
	PubSubREST int `json:"pubsub_rest"` // Pub/Sub REST (gcloud's api_endpoint_overrides/pubsub)
	IAM        int `json:"iam"`         // STS, IAM Credentials, IAM
	Verifier   int `json:"verifier"`    // the attestation verifier (OIDC issuer)
	Registry   int `json:"registry"`    // Artifact Registry
	Compute    int `json:"compute"`     // Compute Engine
	Executions int `json:"executions"`  // Workflows executions (gRPC)
	Functions  int `json:"functions"`   // the Cloud Functions, and the stack's /status
}

// DefaultPortBase is where `cspipe local up` puts its services by default: Storage on the base,
// then PubSub, PubSubREST, IAM, Verifier, Registry, Compute, Executions, Functions.
const DefaultPortBase = 8470

// PortsFrom numbers the services from base in the order of Ports' fields; base 0 gives all-zero
// (free) ports.
func PortsFrom(base int) Ports {
	var p Ports
	if base == 0 {
		return p
	}
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		v.Field(i).SetInt(int64(base + i))
	}
	return p
}

// portsFile keeps the ports a data dir's stack listened on, so a restart reuses them (image
// references and pins name the registry's port).
const portsFile = "ports.json"

// LoadPorts reads the ports a stack on dataDir listened on.
func LoadPorts(dataDir string) (Ports, error) {
	p, ok := loadPorts(dataDir)
	if !ok {
		return p, fmt.Errorf("no stack has run on %s (no %s)", dataDir, portsFile)
	}
	return p, nil
}

func loadPorts(dataDir string) (Ports, bool) {
	var p Ports
	b, err := os.ReadFile(filepath.Join(dataDir, portsFile))
	if err != nil || json.Unmarshal(b, &p) != nil {
		return Ports{}, false
	}
	return p, true
}

func savePorts(dataDir string, p Ports) error {
	b, _ := json.MarshalIndent(p, "", "  ")
	return os.WriteFile(filepath.Join(dataDir, portsFile), append(b, '\n'), 0o644)
}

// PortInUseError says which service could not get its port.
type PortInUseError struct {
	Service string
	Port    int
	Err     error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("stack: port %d for %s is not available (another `cspipe local up`? choose others with --port-base or the per-service port flags): %v", e.Port, e.Service, e.Err)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// listen listens on 127.0.0.1:port (0: a free port).
func listen(service string, port int) (net.Listener, error) {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, &PortInUseError{Service: service, Port: port, Err: err}
	}
	return l, nil
}

func portOf(addr string) int {
	if a, ok := addrPort(addr); ok {
		return a
	}
	return 0
}

func addrPort(addr string) (int, bool) {
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, false
	}
	var n int
	_, err = fmt.Sscan(p, &n)
	return n, err == nil
}
