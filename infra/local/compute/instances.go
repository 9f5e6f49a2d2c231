package compute

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// Instance statuses used here.
const (
	StatusProvisioning = "PROVISIONING"
	StatusRunning      = "RUNNING"
	StatusTerminated   = "TERMINATED"
)

// instance is one VM. res is guarded by Server.mu.
type instance struct {
	res    *computepb.Instance
	vm     VM
	cancel context.CancelFunc
	done   chan struct{}
	// exitErr is why the workload or its launch failed (nil for a clean exit); set before done closes.
	exitErr error
	once    sync.Once
}

// stop cancels the workload and waits until it has exited.
func (in *instance) stop() {
	in.once.Do(in.cancel)
	<-in.done
}

// InstanceState is a snapshot of one instance, for tests and the stack.
type InstanceState struct {
	Name, Status string
	// LaunchError is why the launch or the workload failed, "" on success or while running.
	LaunchError string
	VM          VM
}

// Instances lists the instances that exist now (deleted ones are gone).
func (s *Server) Instances() []InstanceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []InstanceState
	for _, in := range s.instances {
		st := InstanceState{Name: in.res.GetName(), Status: in.res.GetStatus(), VM: in.vm}
		if in.exitErr != nil {
			st.LaunchError = in.exitErr.Error()
		}
		out = append(out, st)
	}
	return out
}

// Changed returns a channel closed at the next instance status change or deletion.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.watchers = append(s.watchers, ch)
	return ch
}

// notifyLocked wakes every Changed waiter; s.mu is held.
func (s *Server) notifyLocked() {
	for _, ch := range s.watchers {
		close(ch)
	}
	s.watchers = nil
}

func key(project, zone, name string) string { return project + "/" + zone + "/" + name }

func (s *Server) timestamp() string { return s.opts.Now().Format("2006-01-02T15:04:05.000-07:00") }

// insert validates body, records the instance and boots it in the background.
func (s *Server) insert(project, zone string, body *computepb.Instance) (*computepb.Operation, *apiError) {
	vm, aerr := validate(project, zone, body)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkNetwork(project, zone, body, &vm); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	k := key(project, zone, vm.Name)
	if _, dup := s.instances[k]; dup {
		s.mu.Unlock()
		return nil, conflict(fmt.Sprintf("The resource 'projects/%s/zones/%s/instances/%s' already exists", project, zone, vm.Name))
	}
	s.nextID++
	vm.ID = s.nextID
	res := proto.Clone(body).(*computepb.Instance)
	res.Id = proto.Uint64(vm.ID)
	res.Kind = proto.String("compute#instance")
	res.Zone = proto.String(s.zoneLink(project, zone))
	res.SelfLink = proto.String(s.zoneLink(project, zone) + "/instances/" + vm.Name)
	res.CreationTimestamp = proto.String(s.timestamp())
	res.Status = proto.String(StatusProvisioning)
	if mt := res.GetMachineType(); mt != "" && !strings.Contains(mt, "/") {
		res.MachineType = proto.String(s.zoneLink(project, zone) + "/machineTypes/" + mt)
	}
	ctx, cancel := context.WithCancel(s.base)
	in := &instance{res: res, vm: vm, cancel: cancel, done: make(chan struct{})}
	s.instances[k] = in
	op := s.newOpLocked(project, zone, "insert", res)
	s.notifyLocked()
	s.mu.Unlock()

	s.log.Info("instance inserted", "project", project, "zone", zone, "instance", vm.Name, "image_family", vm.ImageFamily)
	go s.boot(ctx, in)
	if d := maxRunDuration(body); d > 0 {
		go s.limit(in, k, d, body.GetScheduling().GetInstanceTerminationAction())
	}
	return op, nil
}

// maxRunDuration is the instance's scheduling.maxRunDuration (0: none).
func maxRunDuration(body *computepb.Instance) time.Duration {
	m := body.GetScheduling().GetMaxRunDuration()
	return time.Duration(m.GetSeconds())*time.Second + time.Duration(m.GetNanos())
}

// limit ends the instance when it has run for d, as Compute does with scheduling.maxRunDuration:
// instanceTerminationAction DELETE deletes it, anything else (STOP, the default) stops it. A
// workload that exits first, a delete and Close end the wait.
func (s *Server) limit(in *instance, k string, d time.Duration, action string) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-in.done:
		return
	}
	s.mu.Lock()
	current := s.instances[k] == in
	s.mu.Unlock()
	if !current {
		return
	}
	s.log.Info("instance reached its maxRunDuration", "instance", in.vm.Name, "action", action)
	if action == "DELETE" {
		_, _ = s.delete(in.vm.Project, in.vm.Zone, in.vm.Name)
		return
	}
	in.stop()
}

// boot runs the launcher and tracks the instance's status until the workload exits.
func (s *Server) boot(ctx context.Context, in *instance) {
	defer close(in.done)
	w, err := s.opts.Launcher.Launch(ctx, in.vm)
	if err == nil {
		s.setStatus(in, StatusRunning, nil)
		err = w.Wait()
	}
	if err != nil {
		s.log.Warn("workload ended with an error", "instance", in.vm.Name, "error", err.Error())
	} else {
		s.log.Info("workload finished", "instance", in.vm.Name)
	}
	s.setStatus(in, StatusTerminated, err)
}

func (s *Server) setStatus(in *instance, status string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in.res.Status = proto.String(status)
	now := s.timestamp()
	switch status {
	case StatusRunning:
		in.res.LastStartTimestamp = proto.String(now)
	case StatusTerminated:
		in.res.LastStopTimestamp = proto.String(now)
		in.exitErr = err
	}
	s.notifyLocked()
}

func (s *Server) get(project, zone, name string) (*computepb.Instance, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[key(project, zone, name)]
	if !ok {
		return nil, notFound(fmt.Sprintf("The resource 'projects/%s/zones/%s/instances/%s' was not found", project, zone, name))
	}
	return proto.Clone(in.res).(*computepb.Instance), nil
}

func (s *Server) list(project, zone string) *computepb.InstanceList {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &computepb.InstanceList{
		Kind:     proto.String("compute#instanceList"),
		Id:       proto.String("projects/" + project + "/zones/" + zone + "/instances"),
		SelfLink: proto.String(s.zoneLink(project, zone) + "/instances"),
	}
	prefix := project + "/" + zone + "/"
	for k, in := range s.instances {
		if strings.HasPrefix(k, prefix) {
			l.Items = append(l.Items, proto.Clone(in.res).(*computepb.Instance))
		}
	}
	return l
}

// delete stops the workload (waiting for it) and removes the instance.
func (s *Server) delete(project, zone, name string) (*computepb.Operation, *apiError) {
	k := key(project, zone, name)
	s.mu.Lock()
	in, ok := s.instances[k]
	s.mu.Unlock()
	if !ok {
		return nil, notFound(fmt.Sprintf("The resource 'projects/%s/zones/%s/instances/%s' was not found", project, zone, name))
	}
	in.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.instances[k] != in {
		return nil, notFound(fmt.Sprintf("The resource 'projects/%s/zones/%s/instances/%s' was not found", project, zone, name))
	}
	delete(s.instances, k)
	op := s.newOpLocked(project, zone, "delete", in.res)
	s.notifyLocked()
	s.log.Info("instance deleted", "project", project, "zone", zone, "instance", name)
	return op, nil
}

func (s *Server) zoneLink(project, zone string) string {
	base := s.url
	if base == "" {
		base = "https://compute.googleapis.com"
	}
	return base + "/compute/v1/projects/" + project + "/zones/" + zone
}

// operation is a zonal operation, always DONE.
type operation struct {
	project, zone string
	op            *computepb.Operation
}

func (s *Server) newOpLocked(project, zone, typ string, target *computepb.Instance) *computepb.Operation {
	s.nextID++
	now := s.timestamp()
	name := fmt.Sprintf("operation-%d-%x", s.opts.Now().UnixMilli(), s.nextID)
	op := &computepb.Operation{
		Kind:          proto.String("compute#operation"),
		Id:            proto.Uint64(s.nextID),
		Name:          proto.String(name),
		Zone:          proto.String(s.zoneLink(project, zone)),
		OperationType: proto.String(typ),
		TargetLink:    target.SelfLink,
		TargetId:      target.Id,
		Status:        computepb.Operation_DONE.Enum(),
		Progress:      proto.Int32(100),
		InsertTime:    proto.String(now),
		StartTime:     proto.String(now),
		EndTime:       proto.String(now),
		SelfLink:      proto.String(s.zoneLink(project, zone) + "/operations/" + name),
		User:          proto.String("local@cspipe"),
	}
	s.ops[key(project, zone, name)] = &operation{project: project, zone: zone, op: op}
	return proto.Clone(op).(*computepb.Operation)
}

func (s *Server) operation(project, zone, name string) (*computepb.Operation, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.ops[key(project, zone, name)]
	if !ok {
		return nil, notFound(fmt.Sprintf("The resource 'projects/%s/zones/%s/operations/%s' was not found", project, zone, name))
	}
	return proto.Clone(o.op).(*computepb.Operation), nil
}

// WaitTerminated blocks until the named instance is TERMINATED or gone, or ctx ends.
func (s *Server) WaitTerminated(ctx context.Context, project, zone, name string) error {
	for {
		ch := s.Changed()
		s.mu.Lock()
		in, ok := s.instances[key(project, zone, name)]
		done := !ok || in.res.GetStatus() == StatusTerminated
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
