package events

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/errclass"
)

const (
	testRepo   = "us-docker.pkg.dev/primus/workloads/inference"
	testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestGCRFromEvent(t *testing.T) {
	e := event.New()
	e.SetID("ev-1")
	e.SetSource("//pubsub.googleapis.com/projects/primus/topics/gcr")
	e.SetType(TypeMessagePublished)
	if err := e.SetData("application/json", readTestdata(t, "gcr_envelope.json")); err != nil {
		t.Fatal(err)
	}
	got, err := GCRFromEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	want := GCRNotification{Action: ActionInsert, Repository: testRepo, Digest: testDigest, Tag: "v1",
		MessageID: "1234567890", PublishTime: time.Date(2026, 11, 28, 20, 41, 0, 500000000, time.UTC)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GCRFromEvent() mismatch (-want +got):\n%s", diff)
	}
	if got.Reference() != testRepo+"@"+testDigest {
		t.Errorf("Reference() = %q", got.Reference())
	}
}

func TestParseGCRNotification(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want GCRNotification
	}{
		{"insert with tag", `{"action":"INSERT","digest":"` + testRepo + `@` + testDigest + `","tag":"` + testRepo + `:v1.2_rc-1"}`,
			GCRNotification{Action: ActionInsert, Repository: testRepo, Digest: testDigest, Tag: "v1.2_rc-1"}},
		{"digest only", `{"action":"INSERT","digest":"` + testRepo + `@` + testDigest + `"}`,
			GCRNotification{Action: ActionInsert, Repository: testRepo, Digest: testDigest}},
		{"tag deletion", `{"action":"DELETE","tag":"` + testRepo + `:old"}`,
			GCRNotification{Action: ActionDelete, Repository: testRepo, Tag: "old"}},
		{"registry with port", `{"action":"INSERT","digest":"127.0.0.1:5000/primus/wl@` + testDigest + `","tag":"127.0.0.1:5000/primus/wl:latest"}`,
			GCRNotification{Action: ActionInsert, Repository: "127.0.0.1:5000/primus/wl", Digest: testDigest, Tag: "latest"}},
		{"unknown fields ignored", `{"action":"INSERT","digest":"` + testRepo + `@` + testDigest + `","extra":1}`,
			GCRNotification{Action: ActionInsert, Repository: testRepo, Digest: testDigest}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseGCRNotification([]byte(tc.msg))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseGCRNotificationRefuses(t *testing.T) {
	digest := testRepo + "@" + testDigest
	msg := func(action, digest, tag string) string {
		b, _ := json.Marshal(map[string]string{"action": action, "digest": digest, "tag": tag})
		return string(b)
	}
	tests := []struct {
		name, msg, wantInErr string
	}{
		{"not json", `{`, "not a JSON object"},
		{"string", `"INSERT"`, "not a JSON object"},
		{"missing action", msg("", digest, ""), "field action is missing"},
		{"unknown action", msg("UPSERT", digest, ""), `field action "UPSERT"`},
		{"nothing named", `{"action":"INSERT"}`, "both missing"},
		{"tag with quotes", msg("INSERT", digest, testRepo+`:v1' || true || '`), "field tag"},
		{"tag with double quote", msg("INSERT", digest, testRepo+`:v1"`), "field tag"},
		{"tag with newline", msg("INSERT", digest, testRepo+":v1\n"), "field tag"},
		{"tag without tag", msg("INSERT", digest, testRepo), "field tag"},
		{"tag too long", msg("INSERT", digest, testRepo+":"+strings.Repeat("a", 129)), "field tag"},
		{"tag of other repo", msg("INSERT", digest, "us-docker.pkg.dev/evil/workloads/inference:v1"), "another repository"},
		{"digest is a tag", msg("INSERT", testRepo+":latest", ""), "field digest"},
		{"digest short", msg("INSERT", testRepo+"@sha256:0123", ""), "field digest"},
		{"digest upper hex", msg("INSERT", testRepo+"@"+strings.ToUpper(testDigest), ""), "field digest"},
		{"digest sha512", msg("INSERT", testRepo+"@sha512:"+strings.Repeat("a", 128), ""), "field digest"},
		{"digest bare", msg("INSERT", testDigest, ""), "field digest"},
		{"digest with quote in repo", msg("INSERT", `us-docker.pkg.dev/p/r'x@`+testDigest, ""), "field digest"},
		{"digest trailing junk", msg("INSERT", digest+"'", ""), "field digest"},
		{"two @", msg("INSERT", testRepo+"@x@"+testDigest, ""), "field digest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGCRNotification([]byte(tc.msg))
			if err == nil {
				t.Fatal("ParseGCRNotification() succeeded, want error")
			}
			if !errclass.IsPermanent(err) {
				t.Errorf("error %v is not permanent", err)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantInErr)
			}
		})
	}
}

func TestParsePubSubEnvelopeRefuses(t *testing.T) {
	tests := []struct{ name, data, wantInErr string }{
		{"empty", ``, "not a JSON object"},
		{"no message", `{"subscription":"s"}`, "field message is missing"},
		{"bad base64", `{"message":{"data":"%%%"}}`, "message.data is not base64"},
		{"bad publish time", `{"message":{"data":"","publishTime":"noon"}}`, "message.publishTime"},
		{"wrong data type", `{"message":{"data":5}}`, "pubsub envelope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePubSubEnvelope([]byte(tc.data))
			if err == nil || !errclass.IsPermanent(err) || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("ParsePubSubEnvelope() = %v, want permanent error containing %q", err, tc.wantInErr)
			}
		})
	}
}

func TestGCRFromEventPublishTimeFallsBackToEventTime(t *testing.T) {
	data := base64.StdEncoding.EncodeToString([]byte(`{"action":"INSERT","digest":"` + testRepo + "@" + testDigest + `"}`))
	e := event.New()
	e.SetID("ev-2")
	e.SetSource("//pubsub")
	e.SetType(TypeMessagePublished)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e.SetTime(at)
	if err := e.SetData("application/json", []byte(`{"message":{"data":"`+data+`","messageId":"m"}}`)); err != nil {
		t.Fatal(err)
	}
	n, err := GCRFromEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	if !n.PublishTime.Equal(at) || n.MessageID != "m" {
		t.Errorf("GCRFromEvent() = %+v, want publish time %v and message id m", n, at)
	}
	e.SetType(TypeObjectFinalized)
	if _, err := GCRFromEvent(e); err == nil || !errclass.IsPermanent(err) {
		t.Errorf("GCRFromEvent(wrong type) = %v, want permanent error", err)
	}
}

func FuzzParseGCRNotification(f *testing.F) {
	f.Add([]byte(`{"action":"INSERT","digest":"` + testRepo + "@" + testDigest + `","tag":"` + testRepo + `:v1"}`))
	f.Add([]byte(`{"action":"DELETE","tag":"` + testRepo + `:v1"}`))
	f.Add([]byte(`{"action":"INSERT","digest":"` + testRepo + "@" + testDigest + `","tag":"` + testRepo + `:v1' || true"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseGCRNotification(data)
		if err != nil {
			if !errclass.IsPermanent(err) {
				t.Fatalf("error %v is not permanent", err)
			}
			return
		}
		// Whatever is accepted can be quoted in a CEL string literal without escaping.
		for field, v := range map[string]string{"repository": n.Repository, "digest": n.Digest, "tag": n.Tag} {
			if strings.ContainsAny(v, "'\"\\ \n\r\t`") {
				t.Fatalf("accepted %s %q with a quote, backslash or space", field, v)
			}
		}
		if n.Digest != "" && !digestRe.MatchString(n.Digest) {
			t.Fatalf("accepted digest %q", n.Digest)
		}
		if n.Repository == "" {
			t.Fatal("accepted a notification without a repository")
		}
	})
}

func FuzzParsePubSubEnvelope(f *testing.F) {
	f.Add(readTestdata(f, "gcr_envelope.json"))
	f.Add([]byte(`{"message":{"data":""}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParsePubSubEnvelope(data); err != nil && !errclass.IsPermanent(err) {
			t.Fatalf("error %v is not permanent", err)
		}
	})
}
