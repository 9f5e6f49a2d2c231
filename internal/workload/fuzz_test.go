package workload

import (
	"errors"
	"strings"
	"testing"
)

// FuzzExplainCredentialError: whatever text a credential failure carries, explaining it never
// panics, and a recognised STS answer is quoted with its error and description.
func FuzzExplainCredentialError(f *testing.F) {
	f.Add(`oauth2/google: status code 400: {"error":"unauthorized_client","error_description":"The given credential is rejected by the attribute condition."}`)
	f.Add(`Get "http://x": oauth2/google: status code 403: {"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}`)
	f.Add("status code 500: {")
	f.Add("status code 1: {}")
	f.Fuzz(func(t *testing.T, s string) {
		msg, ok := explainCredentialError(errors.New(s))
		if ok && msg == "" {
			t.Fatal("recognised but empty explanation")
		}
	})
}

func TestExplainCredentialErrorQuotesSTS(t *testing.T) {
	msg, ok := explainCredentialError(errors.New("storage: oauth2/google: status code 400: {\n  \"error\": \"invalid_target\",\n  \"error_description\": \"The target service indicated by the \\\"audience\\\" parameters is invalid.\"\n}"))
	if !ok || !strings.Contains(msg, `invalid_target: The target service indicated by the "audience" parameters is invalid.`) {
		t.Errorf("msg = %q, %v", msg, ok)
	}
	if _, ok := explainCredentialError(errors.New("connection refused")); ok {
		t.Error("a network error was taken for a credential refusal")
	}
}

// FuzzParseGCSURL: accepted URLs always split into a valid bucket and a non-empty object.
func FuzzParseGCSURL(f *testing.F) {
	for _, s := range []string{"gs://b-1/o", "gs://bucket/a/b/c", "gs:///x", "gs://B/x", "s3://x/y", "gs://bb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, o, err := ParseGCSURL(s)
		if err == nil && (!bucketRe.MatchString(b) || o == "" || "gs://"+b+"/"+o != s) {
			t.Fatalf("ParseGCSURL(%q) = %q, %q", s, b, o)
		}
	})
}
