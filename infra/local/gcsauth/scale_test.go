package gcsauth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// TestRequestCostDoesNotGrowWithTheBucket is the structural guard against the local storage
// going quadratic again: the work of one object request (counted in allocations, which the
// memory backend spends on every object of the bucket it scans) must not grow with the number of
// objects in the bucket. A 10,000-photo drop makes about 30,000 objects across the input and
// state buckets.
func TestRequestCostDoesNotGrowWithTheBucket(t *testing.T) {
	s, ids := setup(t)
	h := s.Handler()
	auth := "Bearer " + ids.MintAccessToken(admin)
	serve := func(method, target, body string) {
		req := httptest.NewRequest(method, "http://"+s.Host()+target, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, target, rec.Code, rec.Body)
		}
	}
	seeded, uploads := 0, 0
	seed := func(n int) {
		for ; seeded < n; seeded++ {
			s.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "models", Name: fmt.Sprintf("seed/%06d", seeded)}, Content: []byte("x")})
		}
	}
	cost := func() (get, put float64) {
		last := fmt.Sprintf("/storage/v1/b/models/o/seed%%2F%06d", seeded-1) // a scan finds it last
		get = testing.AllocsPerRun(20, func() { serve(http.MethodGet, last, "") })
		put = testing.AllocsPerRun(20, func() {
			uploads++
			serve(http.MethodPost, fmt.Sprintf("/upload/storage/v1/b/models/o?uploadType=media&name=up/%06d&ifGenerationMatch=0", uploads), "photo")
		})
		return get, put
	}
	seed(100)
	get100, put100 := cost()
	seed(3000)
	get3k, put3k := cost()
	t.Logf("allocations per request with 100 / 3,000 objects in the bucket: get %.0f / %.0f, upload %.0f / %.0f", get100, get3k, put100, put3k)
	for _, c := range []struct {
		name       string
		small, big float64
	}{{"object get", get100, get3k}, {"upload", put100, put3k}} {
		if c.big > 1.25*c.small+20 {
			t.Errorf("%s: %.0f allocations with 3,000 objects in the bucket, %.0f with 100: the cost grows with the bucket", c.name, c.big, c.small)
		}
	}
}

// TestScratchObjectsAreRemovedOnClose: without a StorageRoot the objects live in a scratch
// directory that Close removes.
func TestScratchObjectsAreRemovedOnClose(t *testing.T) {
	s, _ := setup(t)
	s.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "models", Name: "a/b.jpg"}, Content: []byte("x")})
	if s.scratch == "" {
		t.Fatal("no scratch directory although no StorageRoot was given")
	}
	if _, err := os.Stat(s.scratch); err != nil {
		t.Fatalf("scratch directory: %v", err)
	}
	s.Close()
	if _, err := os.Stat(s.scratch); !os.IsNotExist(err) {
		t.Fatalf("scratch directory %s after Close: %v, want it gone", s.scratch, err)
	}
}
