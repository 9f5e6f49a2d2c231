package records

import "testing"

func TestPrefixRoundTrip(t *testing.T) {
	tests := []struct {
		name         string
		run          string
		shard, count int
		want         string
	}{
		{"single shard", "r1", 0, 1, "runs/r1/"},
		{"three shards", "r2", 2, 3, "runs/r2/shard-002/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Prefix(tc.run, tc.shard, tc.count)
			if p != tc.want {
				t.Fatalf("Prefix = %q, want %q", p, tc.want)
			}
			gotPrefix, gotRun, ok := ParseSummaryName(p + SummaryFile)
			if !ok || gotPrefix != p || gotRun != tc.run {
				t.Fatalf("ParseSummaryName = %q %q %v", gotPrefix, gotRun, ok)
			}
		})
	}
	for _, bad := range []string{"runs/r1/results.jsonl", "other/r1/summary.json", "runs//summary.json"} {
		if _, _, ok := ParseSummaryName(bad); ok {
			t.Errorf("ParseSummaryName(%q) ok, want not", bad)
		}
	}
}
