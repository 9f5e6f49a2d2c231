package main

import (
	"fmt"
	"io"
	"os"
)

// Limits on the files the CLI reads. A file over its limit (or an endless one such as
// /dev/zero) is refused with an error naming the limit, never read to the end.
const (
	maxConditionFileBytes = 64 << 10  // the provider takes 4096 characters
	maxClaimsFileBytes    = 1 << 20   // claims and tokens are a few kB
	maxTokenFileBytes     = 1 << 20   //
	maxJWKSFileBytes      = 1 << 20   //
	maxWorkflowFileBytes  = 1 << 20   // Workflows' own source limit is 128 KB
	maxSummaryFileBytes   = 1 << 20   // summary.json, receipt.jwt
	maxModelFileBytes     = 256 << 20 // as classify.Options.MaxBytes and the model archive limit
	maxPhotoFileBytes     = 256 << 20 //
	maxTensorFileBytes    = 1 << 30   //
	maxLabelsFileBytes    = 16 << 20  //
)

// readFileLimit reads at most limit bytes of path; what names the file's role in errors.
func readFileLimit(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", what, path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("reading %s %s: larger than the limit of %d bytes", what, path, limit)
	}
	return b, nil
}

// openLimit opens path for streaming, reading at most limit bytes: a longer file is an error
// naming the limit, raised when the reader gets past it.
func openLimit(path string, limit int64, what string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return &limitedFile{f: f, left: limit, path: path, what: what, limit: limit}, nil
}

type limitedFile struct {
	f           *os.File
	left, limit int64
	path, what  string
}

func (l *limitedFile) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.f.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("reading %s %s: larger than the limit of %d bytes", l.what, l.path, l.limit)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.f.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedFile) Close() error { return l.f.Close() }
