package main

import (
	"encoding/binary"
	"io"
)

// recording is an upload of any size made as it is sent: a real MP4 clip
// (its moov box first), then one top-level "free" box filling the rest
// with zeros. MP4 readers skip free boxes, so the worker probes and
// transcodes the clip whatever the size, while the server streams every
// byte of it through its upload path.
type recording struct {
	head []byte // the clip and the free box's header
	size int64
	off  int64
}

// freeHeader is a free box's header with a 64-bit size: size 1, the type,
// then the real size.
const freeHeader = 16

// newRecording returns a recording of size bytes (at least the clip and
// the free box's header) starting with clip.
func newRecording(clip []byte, size int64) *recording {
	size = max(size, int64(len(clip))+freeHeader)
	head := append([]byte(nil), clip...)
	head = binary.BigEndian.AppendUint32(head, 1)
	head = append(head, "free"...)
	head = binary.BigEndian.AppendUint64(head, uint64(size-int64(len(clip))))
	return &recording{head: head, size: size}
}

// Read implements io.Reader.
func (r *recording) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.off)]
	n := 0
	if r.off < int64(len(r.head)) {
		n = copy(p, r.head[r.off:])
	}
	clear(p[n:])
	r.off += int64(len(p))
	return len(p), nil
}
