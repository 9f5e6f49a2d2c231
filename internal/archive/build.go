package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"time"
)

// File is one entry for Build. Typeflag defaults to a regular file; Linkname is for links.
type File struct {
	Name     string
	Data     []byte
	Typeflag byte
	Linkname string
}

// Build returns a deterministic gzip-compressed tar of files, in the order given (fixed
// timestamps, owner and mode), for tests and the demo. It does not validate anything, so tests
// can build bad archives with it. It panics only if the tar writer refuses a header.
func Build(files []File) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.ModTime = time.Unix(0, 0)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		typ := f.Typeflag
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{
			Name: f.Name, Typeflag: typ, Linkname: f.Linkname, Mode: 0o644,
			ModTime: time.Unix(0, 0), Format: tar.FormatPAX,
		}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(f.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			panic("archive.Build: " + err.Error())
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				panic("archive.Build: " + err.Error())
			}
		}
	}
	if err := tw.Close(); err != nil {
		panic("archive.Build: " + err.Error())
	}
	if err := zw.Close(); err != nil {
		panic("archive.Build: " + err.Error())
	}
	return buf.Bytes()
}
