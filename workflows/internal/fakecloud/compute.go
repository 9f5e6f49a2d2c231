// Package fakecloud is a small in-process Compute Engine and Cloud Storage for testing
// workflows: just the REST calls launch.yaml and the engine's connectors make, with knobs to
// inject failures. The local stack has its own fuller Compute fake; this one exists so the
// workflow tests need nothing outside workflows/.
package fakecloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Instance is what the fake keeps of a VM.
type Instance struct {
	Name     string
	Project  string
	Zone     string
	Body     map[string]any // the insert request body
	Status   string
	Gets     int // instances.get calls answered for it
	Metadata map[string]string
	// Finished is set once the workload has exited (OnFinished was called).
	Finished bool
	// finishedAt is Gets when the workload exited.
	finishedAt int
}

// Debug reports whether the VM boots the debug Confidential Space image, on which the launcher
// holds the VM RUNNING after the workload exits.
func (i Instance) Debug() bool {
	disks, _ := i.Body["disks"].([]any)
	for _, d := range disks {
		dm, _ := d.(map[string]any)
		ip, _ := dm["initializeParams"].(map[string]any)
		if src, _ := ip["sourceImage"].(string); strings.HasSuffix(src, "/family/confidential-space-debug") {
			return true
		}
	}
	return false
}

// Compute is a fake Compute Engine v1 API for instances and zone operations, served under
// /compute/v1/. Its exported knobs must be set before use.
type Compute struct {
	// InsertStatus, if set, returns an HTTP status to fail instances.insert with (0: succeed).
	InsertStatus func(name string) int
	// LostInsertStatus, if set, returns an HTTP status to answer instances.insert with after the
	// VM was created (0: answer normally): the answer of an insert that succeeded is lost (a 503
	// from a front end, a reset connection), so the caller's retry meets 409 alreadyExists.
	LostInsertStatus func(name string) int
	// LostDeleteStatus, if set, returns an HTTP status to answer instances.delete with after the
	// VM was deleted (0: answer normally): the caller's retry meets 404.
	LostDeleteStatus func(name string) int
	// GetStatus, if set, returns an HTTP status to fail the n-th (1-based) instances.get of a VM
	// with (0: answer normally).
	GetStatus func(name string, n int) int
	// RunningGets is how many gets a VM answers RUNNING before its workload exits; negative
	// means never (a workload that hangs).
	RunningGets int
	// ShutdownGets is how many more gets a production VM answers RUNNING after its workload
	// exited (the launcher's shutdown delay) before it is TERMINATED. A debug VM is never
	// TERMINATED: the launcher holds it, as Google's does.
	ShutdownGets int
	// OnFinished is called once when a VM's workload exits (before that get is answered).
	OnFinished func(inst Instance)
	// OnDeleted is called when a VM is deleted, with its state just before.
	OnDeleted func(inst Instance)

	mu      sync.Mutex
	live    map[string]*Instance
	created []string
	deleted []string
	ops     map[string]map[string]any
	opSeq   int
	gets    map[string]int
}

// NewCompute returns a fake whose VMs run for two polls.
func NewCompute() *Compute {
	return &Compute{RunningGets: 2, live: map[string]*Instance{}, ops: map[string]map[string]any{}, gets: map[string]int{}}
}

// Created lists the names of every VM ever created, in order.
func (c *Compute) Created() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.created...)
}

// Deleted lists the names of every VM deleted, in order.
func (c *Compute) Deleted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.deleted...)
}

// Live lists the VMs that exist now.
func (c *Compute) Live() []Instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Instance
	for _, i := range c.live {
		out = append(out, *i)
	}
	return out
}

// Get returns a copy of a live VM.
func (c *Compute) Get(name string) (Instance, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.live[name]
	if !ok {
		return Instance{}, false
	}
	return *i, true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// ServeHTTP implements the API.
func (c *Compute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// /compute/v1/projects/P/zones/Z/{instances[/NAME] | operations/OP}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/compute/v1/"), "/")
	if len(parts) < 5 || parts[0] != "projects" || parts[2] != "zones" {
		apiError(w, http.StatusNotFound, "unknown path "+r.URL.Path)
		return
	}
	project, zone := parts[1], parts[3]
	switch {
	case parts[4] == "instances" && len(parts) == 5 && r.Method == http.MethodPost:
		c.insert(w, r, project, zone)
	case parts[4] == "instances" && len(parts) == 6 && r.Method == http.MethodGet:
		c.get(w, parts[5])
	case parts[4] == "instances" && len(parts) == 6 && r.Method == http.MethodDelete:
		c.delete(w, project, zone, parts[5])
	case parts[4] == "operations" && len(parts) == 6 && r.Method == http.MethodGet:
		c.operation(w, parts[5])
	default:
		apiError(w, http.StatusNotFound, "unsupported "+r.Method+" "+r.URL.Path)
	}
}

func (c *Compute) newOp(kind, project, zone, target string) map[string]any {
	c.opSeq++
	op := map[string]any{
		"kind": "compute#operation", "name": fmt.Sprintf("operation-%d", c.opSeq), "operationType": kind,
		"targetLink": fmt.Sprintf("projects/%s/zones/%s/instances/%s", project, zone, target), "status": "RUNNING",
	}
	c.ops[op["name"].(string)] = op
	return op
}

func (c *Compute) insert(w http.ResponseWriter, r *http.Request, project, zone string) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "bad body: "+err.Error())
		return
	}
	name, _ := body["name"].(string)
	if name == "" {
		apiError(w, http.StatusBadRequest, "missing name")
		return
	}
	if c.InsertStatus != nil {
		if code := c.InsertStatus(name); code != 0 {
			apiError(w, code, "injected insert failure")
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.live[name]; exists {
		apiError(w, http.StatusConflict, "The resource '"+name+"' already exists")
		return
	}
	md := map[string]string{}
	if m, ok := body["metadata"].(map[string]any); ok {
		items, _ := m["items"].([]any)
		for _, it := range items {
			im, _ := it.(map[string]any)
			k, _ := im["key"].(string)
			v, _ := im["value"].(string)
			md[k] = v
		}
	}
	c.live[name] = &Instance{Name: name, Project: project, Zone: zone, Body: body, Status: "PROVISIONING", Metadata: md}
	c.created = append(c.created, name)
	if c.LostInsertStatus != nil {
		if code := c.LostInsertStatus(name); code != 0 {
			apiError(w, code, "injected failure after the insert")
			return
		}
	}
	writeJSON(w, http.StatusOK, c.newOp("insert", project, zone, name))
}

func (c *Compute) get(w http.ResponseWriter, name string) {
	c.mu.Lock()
	c.gets[name]++
	n := c.gets[name]
	c.mu.Unlock()
	if c.GetStatus != nil {
		if code := c.GetStatus(name, n); code != 0 {
			apiError(w, code, "injected get failure")
			return
		}
	}
	c.mu.Lock()
	inst, ok := c.live[name]
	if !ok {
		c.mu.Unlock()
		apiError(w, http.StatusNotFound, "The resource '"+name+"' was not found")
		return
	}
	inst.Gets++
	var finished *Instance
	if !inst.Finished && c.RunningGets >= 0 && inst.Gets > c.RunningGets {
		inst.Finished, inst.finishedAt = true, inst.Gets
		cp := *inst
		finished = &cp
	}
	switch {
	case inst.Status == "TERMINATED":
	case inst.Finished && !inst.Debug() && inst.Gets > inst.finishedAt+c.ShutdownGets-1:
		inst.Status = "TERMINATED"
	default:
		inst.Status = "RUNNING"
	}
	resp := map[string]any{"name": inst.Name, "status": inst.Status}
	for k, v := range inst.Body {
		if k != "name" {
			resp[k] = v
		}
	}
	c.mu.Unlock()
	if finished != nil && c.OnFinished != nil {
		c.OnFinished(*finished)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (c *Compute) delete(w http.ResponseWriter, project, zone, name string) {
	c.mu.Lock()
	inst, ok := c.live[name]
	if !ok {
		c.mu.Unlock()
		apiError(w, http.StatusNotFound, "The resource '"+name+"' was not found")
		return
	}
	gone := *inst
	delete(c.live, name)
	c.deleted = append(c.deleted, name)
	op := c.newOp("delete", project, zone, name)
	c.mu.Unlock()
	if c.OnDeleted != nil {
		c.OnDeleted(gone)
	}
	if c.LostDeleteStatus != nil {
		if code := c.LostDeleteStatus(name); code != 0 {
			apiError(w, code, "injected failure after the delete")
			return
		}
	}
	writeJSON(w, http.StatusOK, op)
}

// operation answers an operation DONE on its first poll.
func (c *Compute) operation(w http.ResponseWriter, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	op, ok := c.ops[name]
	if !ok {
		apiError(w, http.StatusNotFound, "no operation "+name)
		return
	}
	op["status"] = "DONE"
	writeJSON(w, http.StatusOK, op)
}
