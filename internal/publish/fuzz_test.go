package publish

import (
	"testing"
	"unicode/utf8"
)

// FuzzRecordMessage: any line either is skipped or gives a message whose attributes fit Pub/Sub's
// limits and whose data is the line itself.
func FuzzRecordMessage(f *testing.F) {
	f.Add([]byte(`{"run_id":"r","image":"a.jpg","status":"ok","predicted_class":3,"label":"cat"}`))
	f.Add([]byte(`{"image":"` + "\xff\xfe" + `"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, line []byte) {
		m, ok := recordMessage(line, "run", 7)
		if !ok {
			return
		}
		if string(m.Data) != string(line) || m.OrderingKey != "run" || m.Attributes[AttrIndex] != "7" {
			t.Fatalf("message %+v for line %q", m, line)
		}
		for k, v := range m.Attributes {
			if len(v) > maxAttr || !utf8.ValidString(v) && len(v) == maxAttr {
				t.Fatalf("attribute %s=%q is too long or split", k, v)
			}
		}
	})
}
