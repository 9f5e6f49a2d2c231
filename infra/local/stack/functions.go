package stack

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cspipe/cspipe/functions/pinimage"
	"github.com/cspipe/cspipe/functions/registermodel"
	"github.com/cspipe/cspipe/infra/local/eventarc"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/blob"
)

// handlerFunc is a CloudEvent function's Handle method.
type handlerFunc func(context.Context, event.Event) error

// function is one Cloud Function wired into the stack with its trigger.
type function struct {
	name    string
	handle  handlerFunc
	trigger eventarc.Trigger // Target filled in by startFunctions
	timeout time.Duration    // the deployed invocation deadline (the package's Timeout)
}

// startFunctions builds every function that exists in this build, serves them over HTTP as the
// Functions Framework does (POST /<EntryPoint>, CloudEvents binary mode) and adds their triggers.
func (s *Stack) startFunctions(ctx context.Context) error {
	var fns []function
	add := func(fn function, err error) error {
		if err != nil {
			if err == errMissing {
				s.Missing = append(s.Missing, fn.name)
				return nil
			}
			return fmt.Errorf("stack: building %s: %w", fn.name, err)
		}
		fns = append(fns, fn)
		s.Functions = append(s.Functions, fn.name)
		return nil
	}
	for _, build := range []func(context.Context) (function, error){
		s.pinFunction, s.registerModelFunction, s.scheduleRunFunction, s.publishResultsFunction,
	} {
		if err := add(build(ctx)); err != nil {
			return err
		}
	}

	lis, err := listen("the functions", s.opts.Ports.Functions)
	if err != nil {
		return err
	}
	s.functionsURL = "http://" + lis.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+StatusPath, s.serveStatus)
	for _, fn := range fns {
		if fn.timeout <= 0 {
			lis.Close()
			return fmt.Errorf("stack: function %s has no deadline (set it to its package's Timeout)", fn.name)
		}
		// Like a Cloud Run service, each function admits only run.invoker callers, and an
		// invocation is cut off at the function's timeout.
		mux.Handle("/"+fn.name, s.invokerOnly(functionProject(fn.name), fn.name, s.functionsURL+"/"+fn.name,
			withDeadline(s.log.With("component", "functions"), fn.name, fn.timeout, perInvocation(fn.handle))))
	}
	srv := &http.Server{Handler: limitBody(mux, maxFunctionRequest), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	s.defer_(func() { _ = srv.Close() })

	s.Eventarc, err = eventarc.New(eventarc.Options{
		Client: s.PubSub, Logger: s.log.With("component", "eventarc"),
		Copies: s.opts.EventCopies, CopyDelay: s.opts.EventCopyDelay, IDToken: s.IAM.MintIDToken,
	})
	if err != nil {
		return err
	}
	// Stop delivering before the server goes away (closers run in reverse).
	s.defer_(s.Eventarc.Close)
	for _, fn := range fns {
		t := fn.trigger
		t.Target = s.functionsURL + "/" + fn.name
		t.ServiceAccount = TriggerSA(functionProject(fn.name))
		if t.Bucket != "" && !slices.Contains(notifiedBuckets, t.Bucket) {
			return fmt.Errorf("stack: trigger %s watches bucket %s, which has no notification configuration (notifiedBuckets)", t.Name, t.Bucket)
		}
		if err := s.Eventarc.Add(ctx, t); err != nil {
			return err
		}
	}
	if s.scheduleRun != nil {
		s.startSweeper(s.scheduleRun)
	}
	return nil
}

// perInvocation serves each request with a CloudEvents receiver of its own, the way a deployed
// function instance runs one request at a time (Cloud Run functions' default concurrency of 1,
// which the Terraform module pins).
//
// One receiver must not be shared by concurrent requests: the SDK's receive handler (the one
// functions-framework-go wraps) queues each request's event on one channel and lets whichever
// waiting goroutine comes first take it, with that goroutine's request context. A request can
// then run another request's event, under a context that is cancelled when that other request
// is answered, and an event whose taker gave up stays queued until some later request arrives.
// Both were seen here: a PublishResults delivery that hung until the next run's events came.
func perInvocation(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := cloudevents.NewHTTP()
		if err != nil {
			http.Error(w, "creating the CloudEvents receiver: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h, err := cloudevents.NewHTTPReceiveHandler(r.Context(), p, fn)
		if err != nil {
			http.Error(w, "creating the CloudEvents receiver: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// maxFunctionRequest is Cloud Run's limit on an HTTP/1 request body, which gen2 functions have.
const maxFunctionRequest = 32 << 20

// limitBody refuses request bodies over limit with 413 and a message naming the limit, as the
// platform in front of a deployed function does; the function never reads past it.
func limitBody(h http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			http.Error(w, fmt.Sprintf("request body of %d bytes is over the %d-byte limit", r.ContentLength, limit), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

// functionProject is the project a function belongs to: Primus's pin and model registration,
// Secundus's scheduling and publishing.
func functionProject(name string) Project {
	if name == pinimage.EntryPoint || name == registermodel.EntryPoint {
		return Primus
	}
	return Secundus
}

func storageTrigger(name, bucket string) eventarc.Trigger {
	return eventarc.Trigger{Name: name, Project: Secundus.ID,
		Topic: "projects/" + Secundus.ID + "/topics/" + notificationsTopic, Bucket: bucket}
}

// storeFor is a blob store over a storage client acting as the service account.
func (s *Stack) storeFor(ctx context.Context, serviceAccount string) (blob.Store, error) {
	c, err := s.StorageClient(ctx, iam.ServiceAccount(serviceAccount))
	if err != nil {
		return nil, err
	}
	s.defer_(func() { c.Close() })
	return blob.NewGCS(c), nil
}

func (s *Stack) registerModelFunction(ctx context.Context) (function, error) {
	fn := function{name: registermodel.EntryPoint, trigger: storageTrigger("register-model", ModelBucket), timeout: registermodel.Timeout}
	store, err := s.storeFor(ctx, PrimusFunctionsSA)
	if err != nil {
		return fn, err
	}
	f := registermodel.New(registermodel.Config{
		ModelBucket: ModelBucket, ArchiveSuffixes: []string{".tar.gz", ".tgz"},
		MaxArchiveBytes: 256 << 20, MaxEventAge: 24 * time.Hour,
	}, registermodel.Deps{Store: store, Log: s.log.With("function", registermodel.EntryPoint)})
	fn.handle = f.Handle
	return fn, nil
}

// The other three functions are wired in functions_wired.go.
