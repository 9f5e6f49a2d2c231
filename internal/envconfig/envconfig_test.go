package envconfig

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type inner struct {
	Workers int `env:"WORKERS" default:"4"`
}

type sample struct {
	Bucket string        `env:"BUCKET" required:"true"`
	Debug  bool          `env:"DEBUG"`
	Window time.Duration `env:"WINDOW" default:"30s"`
	Emails []string      `env:"EMAILS"`
	Ratio  float64       `env:"RATIO"`
	Nested inner
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    sample
		wantErr []string
	}{
		{
			name: "defaults and lists",
			env:  map[string]string{"BUCKET": "b", "EMAILS": " a@x , ,b@y", "DEBUG": "true"},
			want: sample{Bucket: "b", Debug: true, Window: 30 * time.Second, Emails: []string{"a@x", "b@y"}, Nested: inner{Workers: 4}},
		},
		{
			name:    "every problem is named",
			env:     map[string]string{"DEBUG": "maybe", "WINDOW": "soon", "WORKERS": "x"},
			wantErr: []string{"BUCKET is required", `DEBUG="maybe"`, `WINDOW="soon"`, `WORKERS="x"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got sample
			err := Load(&got, MapEnv(tc.env))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("Load succeeded, want error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Load mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	got := Keys(sample{})
	want := []Key{{Name: "BUCKET", Required: true}, {Name: "DEBUG"}, {Name: "WINDOW", Default: "30s"}, {Name: "EMAILS"}, {Name: "RATIO"}, {Name: "WORKERS", Default: "4"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Keys mismatch (-want +got):\n%s", d)
	}
}
