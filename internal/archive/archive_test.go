package archive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/records"
)

var testModel = append([]byte("\x1c\x00\x00\x00TFL3"), bytes.Repeat([]byte{7}, 100)...)

func good(extra ...File) []File {
	return append([]File{
		{Name: records.ModelFile, Data: testModel},
		{Name: records.LabelsFile, Data: []byte("background\ncat\ndog\n")},
	}, extra...)
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		want  Report
	}{
		{"model and labels", good(), Report{Entries: 2, Labels: 3, Uncompressed: int64(len(testModel)) + 19}},
		{"with metadata", good(File{Name: records.MetadataFile, Data: []byte(`{"input_range":"-1,1","label_offset":1}`)}),
			Report{Entries: 3, Labels: 3, Uncompressed: int64(len(testModel)) + 19 + 39,
				Metadata: &records.ModelMetadata{InputRange: "-1,1", LabelOffset: 1}}},
		{"with exif_orientation", good(File{Name: records.MetadataFile, Data: []byte(`{"exif_orientation":"ignore"}`)}),
			Report{Entries: 3, Labels: 3, Uncompressed: int64(len(testModel)) + 19 + 29,
				Metadata: &records.ModelMetadata{EXIFOrientation: "ignore"}}},
		{"dot-slash names and root dir", []File{
			{Name: "./", Typeflag: tar.TypeDir},
			{Name: "./" + records.LabelsFile, Data: []byte("a\r\nb\r\n\r\n")},
			{Name: "./" + records.ModelFile, Data: testModel},
		}, Report{Entries: 3, Labels: 2, Uncompressed: int64(len(testModel)) + 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := Build(tc.files)
			sum := sha256.Sum256(b)
			tc.want.SHA256 = hex.EncodeToString(sum[:])
			tc.want.Size = int64(len(b))
			got, err := Validate(bytes.NewReader(b), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtract(t *testing.T) {
	b := Build(good(File{Name: records.MetadataFile, Data: []byte(`{"label_offset":1}`)}))
	m, err := Extract(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Model, testModel) {
		t.Error("Extract() model bytes differ")
	}
	if diff := cmp.Diff([]string{"background", "cat", "dog"}, m.Labels); diff != "" {
		t.Errorf("labels mismatch (-want +got):\n%s", diff)
	}
	if m.Metadata.LabelOffset != 1 {
		t.Errorf("metadata = %+v", m.Metadata)
	}
	r, err := Validate(bytes.NewReader(b), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, m.Report); diff != "" {
		t.Errorf("Extract report differs from Validate's (-validate +extract):\n%s", diff)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	if !bytes.Equal(Build(good()), Build(good())) {
		t.Error("Build() is not deterministic")
	}
}

func corruptions(t *testing.T) map[string][]byte {
	b := Build(good())
	crc := bytes.Clone(b)
	crc[len(crc)-6] ^= 0xff // inside the gzip trailer's CRC-32
	var notTar bytes.Buffer
	notTar.Write(Build(nil)[:10]) // a gzip header
	return map[string][]byte{
		"not gzip":     []byte("PK\x03\x04 this is a zip"),
		"truncated":    b[:len(b)/2],
		"bad crc":      crc,
		"empty":        nil,
		"gzip garbage": append(bytes.Clone(b[:10]), bytes.Repeat([]byte{0xAB}, 200)...),
	}
}

func TestValidateRefuses(t *testing.T) {
	bomb := append(bytes.Clone(testModel), make([]byte, 3<<20)...)
	tests := []struct {
		name       string
		archive    []byte
		limits     Limits
		wantReason Reason
		wantEntry  string
	}{
		{"parent dir", Build(good(File{Name: "../evil", Data: []byte("x")})), Limits{}, ReasonBadPath, "../evil"},
		{"nested parent dir", Build(good(File{Name: "a/../../labels.txt", Data: []byte("x")})), Limits{}, ReasonBadPath, "a/../../labels.txt"},
		{"absolute", Build(good(File{Name: "/etc/passwd", Data: []byte("x")})), Limits{}, ReasonBadPath, "/etc/passwd"},
		{"backslash", Build(good(File{Name: `..\evil`, Data: []byte("x")})), Limits{}, ReasonBadPath, `..\evil`},
		{"control char", Build(good(File{Name: "a\nb", Data: []byte("x")})), Limits{}, ReasonBadPath, "a\nb"},
		{"symlink", Build([]File{{Name: records.ModelFile, Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}}), Limits{}, ReasonBadType, records.ModelFile},
		{"hard link", Build(good(File{Name: "x", Typeflag: tar.TypeLink, Linkname: records.ModelFile})), Limits{}, ReasonBadType, "x"},
		{"char device", Build(good(File{Name: "null", Typeflag: tar.TypeChar})), Limits{}, ReasonBadType, "null"},
		{"fifo", Build(good(File{Name: "pipe", Typeflag: tar.TypeFifo})), Limits{}, ReasonBadType, "pipe"},
		{"subdirectory", Build(good(File{Name: "sub/", Typeflag: tar.TypeDir})), Limits{}, ReasonBadType, "sub/"},
		{"duplicate", Build(good(File{Name: "./" + records.ModelFile, Data: testModel})), Limits{}, ReasonDuplicate, "./" + records.ModelFile},
		{"unexpected", Build(good(File{Name: "README", Data: []byte("hi")})), Limits{}, ReasonUnexpectedEntry, "README"},
		{"missing model", Build(good()[1:]), Limits{}, ReasonMissingEntry, records.ModelFile},
		{"missing labels", Build(good()[:1]), Limits{}, ReasonMissingEntry, records.LabelsFile},
		{"not tflite", Build([]File{{Name: records.ModelFile, Data: []byte("hello world")}, good()[1]}), Limits{}, ReasonBadModel, records.ModelFile},
		{"empty labels", Build([]File{good()[0], {Name: records.LabelsFile, Data: []byte("\n\n")}}), Limits{}, ReasonBadLabels, records.LabelsFile},
		{"labels not utf-8", Build([]File{good()[0], {Name: records.LabelsFile, Data: []byte("caf\xe9\n")}}), Limits{}, ReasonBadLabels, records.LabelsFile},
		{"metadata unknown field", Build(good(File{Name: records.MetadataFile, Data: []byte(`{"evil":1}`)})), Limits{}, ReasonBadMetadata, records.MetadataFile},
		{"metadata bad exif_orientation", Build(good(File{Name: records.MetadataFile, Data: []byte(`{"exif_orientation":"rotate"}`)})), Limits{}, ReasonBadMetadata, records.MetadataFile},
		{"metadata bad range", Build(good(File{Name: records.MetadataFile, Data: []byte(`{"input_range":"0,255"}`)})), Limits{}, ReasonBadMetadata, records.MetadataFile},
		{"metadata offset past labels", Build(good(File{Name: records.MetadataFile, Data: []byte(`{"label_offset":3}`)})), Limits{}, ReasonBadMetadata, records.MetadataFile},
		{"metadata not json", Build(good(File{Name: records.MetadataFile, Data: []byte(`{`)})), Limits{}, ReasonBadMetadata, records.MetadataFile},
		{"compressed too large", Build(good()), Limits{MaxCompressed: 50}, ReasonTooLarge, ""},
		{"too many entries", Build(good(File{Name: "./", Typeflag: tar.TypeDir})), Limits{MaxEntries: 2}, ReasonTooManyEntries, "./"},
		{"entry too large", Build(good()), Limits{MaxEntrySize: 50}, ReasonTooLarge, records.ModelFile},
		{"total too large", Build(good()), Limits{MaxTotal: 110}, ReasonTooLarge, records.LabelsFile},
		{"labels too large", Build(good()), Limits{MaxLabelsSize: 5}, ReasonTooLarge, records.LabelsFile},
		{"decompression bomb", Build([]File{{Name: records.ModelFile, Data: bomb}, good()[1]}), Limits{}, ReasonBomb, records.ModelFile},
	}
	for name, b := range corruptions(t) {
		tests = append(tests, struct {
			name       string
			archive    []byte
			limits     Limits
			wantReason Reason
			wantEntry  string
		}{"corrupt: " + name, b, Limits{}, ReasonCorrupt, "*"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(bytes.NewReader(tc.archive), tc.limits)
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("Validate() = %v, want *archive.Error", err)
			}
			if ae.Reason != tc.wantReason || (tc.wantEntry != "*" && ae.Entry != tc.wantEntry) {
				t.Errorf("Validate() = reason %q entry %q (%v), want reason %q entry %q", ae.Reason, ae.Entry, err, tc.wantReason, tc.wantEntry)
			}
			if _, err := Extract(tc.archive, tc.limits); !IsRefusal(err) {
				t.Errorf("Extract() = %v, want a refusal", err)
			}
		})
	}
}

type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestValidateSourceErrorIsNotARefusal(t *testing.T) {
	errNet := errors.New("connection reset")
	b := Build(good())
	_, err := Validate(&failingReader{r: bytes.NewReader(b), n: 40, err: errNet}, Limits{})
	if !errors.Is(err, errNet) {
		t.Fatalf("Validate() = %v, want it to wrap the reader's error", err)
	}
	if IsRefusal(err) {
		t.Errorf("Validate() = %v: a read failure must not be a refusal", err)
	}
}

func TestErrorNamesEntry(t *testing.T) {
	_, err := Validate(bytes.NewReader(Build(good(File{Name: "../../etc/cron.d/x", Data: []byte("x")}))), Limits{})
	if err == nil || !strings.Contains(err.Error(), `"../../etc/cron.d/x"`) || !strings.Contains(err.Error(), string(ReasonBadPath)) {
		t.Errorf("error %q should name the entry and the reason", err)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(Build(good()))
	f.Add(Build(good(File{Name: records.MetadataFile, Data: []byte(`{"label_offset":1}`)})))
	f.Add(Build(good(File{Name: "../x", Data: []byte("x")})))
	f.Add(Build([]File{{Name: "./", Typeflag: tar.TypeDir}, {Name: records.ModelFile, Typeflag: tar.TypeSymlink, Linkname: "/"}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxCompressed: 1 << 20, MaxTotal: 4 << 20, MaxEntrySize: 2 << 20}
		r, err := Validate(bytes.NewReader(b), lim)
		if err != nil {
			if !IsRefusal(err) {
				t.Fatalf("Validate() = %v, want a refusal for in-memory input", err)
			}
			return
		}
		sum := sha256.Sum256(b)
		if r.SHA256 != hex.EncodeToString(sum[:]) || r.Size != int64(len(b)) {
			t.Fatalf("report %+v does not describe the input", r)
		}
		m, err := Extract(b, lim)
		if err != nil {
			t.Fatalf("Validate accepted but Extract refused: %v", err)
		}
		if len(m.Model) < 8 || len(m.Labels) == 0 {
			t.Fatalf("accepted archive without model or labels: %+v", m.Report)
		}
	})
}
