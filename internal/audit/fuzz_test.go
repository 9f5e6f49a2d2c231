package audit

import (
	"testing"

	"github.com/cspipe/cspipe/internal/blob"
)

// FuzzVerify feeds arbitrary bytes as the head and as the record it names (the bucket is
// outside input: anyone who can write it can write anything). Nothing may panic, and a log that
// verifies with CheckRecord has a head whose condition is what its policy values render.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"condition":"true"}`), []byte(`{}`))
	f.Add([]byte(`{"record":"`+hashOf([]byte(`{"sequence":1}`))+`","sequence":1}`), []byte(`{"sequence":1}`))
	f.Add([]byte(`{`), []byte(`{"policy":{"image_digest":"x"}}`))
	f.Fuzz(func(t *testing.T, head, record []byte) {
		s := blob.NewMemory()
		ctx := t.Context()
		if _, err := s.Write(ctx, "b", recordName(hashOf(record)), blob.Object{Data: record}, blob.Cond{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(ctx, "b", LatestObject, blob.Object{Data: head}, blob.Cond{}); err != nil {
			t.Fatal(err)
		}
		l := New(s, "b")
		n, err := l.Walk(ctx, func(e Entry) error { return CheckRecord(e.Record) })
		if err != nil || n == 0 {
			return
		}
		e, ok, err := l.Latest(ctx)
		if err != nil || !ok {
			t.Fatalf("Walk verified %d records but Latest() = %v, %v", n, ok, err)
		}
		if c, err := e.Record.Policy.Render(); err != nil || c != e.Record.Condition {
			t.Fatalf("verified head's condition %q is not its policy's rendering %q (%v)", e.Record.Condition, c, err)
		}
	})
}
