package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/cspipe/cspipe/internal/policy"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/records"
)

// Status is what `cspipe local status` shows: the pin, the models, the runs.
type Status struct {
	Pin    *PinStatus    `json:"pin,omitempty"` // nil: nothing pinned yet
	Models []ModelStatus `json:"models"`
	Runs   []RunStatus   `json:"runs"`
}

// PinStatus is the image the provider admits.
type PinStatus struct {
	ImageReference string    `json:"image_reference"`
	Digest         string    `json:"digest"`
	PinnedAt       time.Time `json:"pinned_at,omitzero"`
	// Active says the provider's condition names the digest (false: the audit log and the
	// provider disagree).
	Active bool `json:"active"`
	// InRegistry says the registry still serves the digest.
	InRegistry bool `json:"in_registry"`
}

// ModelStatus is a model archive and its manifest.
type ModelStatus struct {
	Object string `json:"object"`
	Status string `json:"status"` // accepted, rejected, or "pending" (no manifest yet)
	SHA256 string `json:"sha256,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// RunStatus is one run: a workflow execution of this process, and/or the summaries in the
// results bucket (which survive a restart).
type RunStatus struct {
	RunID     string `json:"run_id,omitempty"`
	Execution string `json:"execution,omitempty"`
	// State is the summaries' status (ok, failed) once the run has one, else its execution's
	// state (ACTIVE while the VM runs, FAILED, CANCELLED).
	State string `json:"state"`
	// ExecutionState is the workflow execution's own state (this process's executions only).
	ExecutionState string    `json:"execution_state,omitempty"`
	Images         int       `json:"images,omitempty"`
	Succeeded      int       `json:"succeeded,omitempty"`
	Error          string    `json:"error,omitempty"`
	Started        time.Time `json:"started,omitzero"`
}

// Status reads the stack's state (the stack's own view, not a user's).
func (s *Stack) Status(ctx context.Context) (Status, error) {
	st := Status{Models: []ModelStatus{}, Runs: []RunStatus{}}
	if obj, err := s.GCS.Fake().GetObject(AuditBucket, audit.LatestObject); err == nil {
		var l audit.Latest
		if json.Unmarshal(obj.Content, &l) == nil {
			p := &PinStatus{ImageReference: l.ImageReference, Digest: l.Digest, PinnedAt: l.PinnedAt}
			p.Active = l.Digest != "" && strings.Contains(s.Condition(), l.Digest)
			p.InRegistry = s.registryHas(ctx, l.ImageReference)
			st.Pin = p
		}
	}
	objs, _, err := s.GCS.Fake().ListObjectsWithOptions(ModelBucket, fakestorage.ListOptions{})
	if err != nil {
		return st, fmt.Errorf("listing models: %w", err)
	}
	names := map[string]bool{}
	for _, o := range objs {
		names[o.Name] = true
	}
	for _, o := range objs {
		if strings.HasSuffix(o.Name, records.ManifestSuffix) {
			continue
		}
		m := ModelStatus{Object: "gs://" + ModelBucket + "/" + o.Name, Status: "pending"}
		if mo, err := s.GCS.Fake().GetObject(ModelBucket, o.Name+records.ManifestSuffix); err == nil {
			var man records.Manifest
			if json.Unmarshal(mo.Content, &man) == nil {
				m.Status, m.SHA256, m.Reason = man.Status, man.SHA256, man.Reason
			}
		}
		st.Models = append(st.Models, m)
	}

	byRun := map[string]*RunStatus{}
	sums, _, err := s.GCS.Fake().ListObjectsWithOptions(ResultsBucket, fakestorage.ListOptions{Prefix: records.RunsPrefix})
	if err != nil {
		return st, fmt.Errorf("listing runs: %w", err)
	}
	for _, o := range sums {
		if _, runID, ok := records.ParseSummaryName(o.Name); ok {
			full, err := s.GCS.Fake().GetObject(ResultsBucket, o.Name)
			if err != nil {
				continue
			}
			var sum records.Summary
			if json.Unmarshal(full.Content, &sum) != nil {
				continue
			}
			r := byRun[runID]
			if r == nil {
				r = &RunStatus{RunID: runID, State: sum.Status, Started: sum.StartedAt}
				byRun[runID] = r
			}
			r.Images += sum.Images
			r.Succeeded += sum.Succeeded
			if sum.Status != records.StatusOK {
				r.State, r.Error = sum.Status, sum.Error
			}
		}
	}
	if s.Executions != nil {
		resp, err := s.Executions.ListExecutions(ctx, &executionspb.ListExecutionsRequest{Parent: WorkflowParent()})
		if err == nil {
			for _, e := range resp.Executions {
				var arg LaunchArgument
				_ = json.Unmarshal([]byte(e.Argument), &arg)
				r := byRun[arg.RunID]
				if r == nil || arg.RunID == "" {
					r = &RunStatus{RunID: arg.RunID}
					if arg.RunID != "" {
						byRun[arg.RunID] = r
					} else {
						st.Runs = append(st.Runs, RunStatus{})
						r = &st.Runs[len(st.Runs)-1]
					}
				}
				r.Execution = lastSegment(e.Name)
				r.ExecutionState = e.State.String()
				if r.State == "" {
					r.State = r.ExecutionState
				}
				if e.Error != nil && r.Error == "" {
					r.Error = e.Error.Payload
				}
				if r.Started.IsZero() && e.StartTime != nil {
					r.Started = e.StartTime.AsTime()
				}
			}
		}
	}
	for _, r := range byRun {
		st.Runs = append(st.Runs, *r)
	}
	slices.SortFunc(st.Runs, func(a, b RunStatus) int { return a.Started.Compare(b.Started) })
	return st, nil
}

func (s *Stack) registryHas(ctx context.Context, ref string) bool {
	repo, digest, ok := strings.Cut(ref, "@")
	if !ok || !strings.HasPrefix(repo, s.Registry.Host()+"/") {
		return false
	}
	d, err := policy.ParseDigest(digest)
	if err != nil {
		return false
	}
	// Asked the way PinWorkloadImage asks: with its identity, which reads Primus's repository.
	return s.pinRegistry().Resolve(ctx, repo, d) == nil
}

// StatusPath is where the functions server answers the stack's Status as JSON.
const StatusPath = "/_cspipe/status"

func (s *Stack) serveStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// FetchStatus reads a running stack's Status from its functions endpoint (http://HOST:PORT).
func FetchStatus(ctx context.Context, functionsURL string) (Status, error) {
	var st Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(functionsURL, "/")+StatusPath, nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("no local stack answers at %s (is `cspipe local up` running?): %w", functionsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return st, fmt.Errorf("status: %s: %s", resp.Status, b)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// Print writes st for people.
func (st Status) Print(w io.Writer) {
	if st.Pin == nil {
		fmt.Fprintln(w, "pin:    nothing pinned yet (push the workload image to Primus's repository)")
	} else {
		state := "active"
		if !st.Pin.Active {
			state = "NOT in the provider's condition"
		}
		if !st.Pin.InRegistry {
			state += ", NOT in the registry"
		}
		fmt.Fprintf(w, "pin:    %s (%s; pinned %s)\n", st.Pin.ImageReference, state, st.Pin.PinnedAt.Format(time.DateTime))
	}
	if len(st.Models) == 0 {
		fmt.Fprintln(w, "models: none (upload a `cspipe model pack` archive to gs://"+ModelBucket+"/"+ModelObject+")")
	}
	for _, m := range st.Models {
		line := fmt.Sprintf("model:  %s %s", m.Object, m.Status)
		if m.SHA256 != "" {
			line += " sha256 " + m.SHA256[:min(12, len(m.SHA256))] + "…"
		}
		if m.Reason != "" {
			line += ": " + m.Reason
		}
		fmt.Fprintln(w, line)
	}
	if len(st.Runs) == 0 {
		fmt.Fprintln(w, "runs:   none yet")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATE\tEXECUTION\tIMAGES\tOK\tSTARTED\tERROR")
	for _, r := range st.Runs {
		started := ""
		if !r.Started.IsZero() {
			started = r.Started.Local().Format(time.TimeOnly)
		}
		id := r.RunID
		if id == "" {
			id = "(execution " + r.Execution + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", id, r.State, r.ExecutionState, r.Images, r.Succeeded, started, r.Error)
	}
	tw.Flush()
}
