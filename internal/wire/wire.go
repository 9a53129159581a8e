// Package wire is the framing and field encoding shared by the binary
// forms of the mergeable accumulators: a frame is a 4-byte magic string, a
// version byte, the payload and the CRC-32C (Castagnoli) of everything
// before it, little-endian. Fields are varints, fixed 8-byte floats and
// the canonical form of exact sums.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/xentlab/xent/exact"
)

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("corrupt encoding")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Seal frames payload with magic (4 bytes) and version.
func Seal(magic string, version byte, payload []byte) []byte {
	b := make([]byte, 0, len(magic)+1+len(payload)+4)
	b = append(b, magic...)
	b = append(b, version)
	b = append(b, payload...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// Open checks the frame of data (magic, checksum) and returns its version
// and payload.
func Open(magic string, data []byte) (byte, []byte, error) {
	if len(data) < len(magic)+5 {
		return 0, nil, fmt.Errorf("%d bytes, too short for a frame: %w", len(data), ErrCorrupt)
	}
	if string(data[:len(magic)]) != magic {
		return 0, nil, fmt.Errorf("starts with %q, want %q: %w", data[:len(magic)], magic, ErrCorrupt)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return 0, nil, fmt.Errorf("checksum %08x, the data gives %08x (damaged or truncated): %w", sum, got, ErrCorrupt)
	}
	return data[len(magic)], body[len(magic)+1:], nil
}

// Writer appends fields to a byte slice.
type Writer struct{ B []byte }

// Uvarint appends v.
func (w *Writer) Uvarint(v uint64) { w.B = binary.AppendUvarint(w.B, v) }

// Int appends a non-negative int.
func (w *Writer) Int(v int) { w.Uvarint(uint64(v)) }

// Varint appends a signed v.
func (w *Writer) Varint(v int64) { w.B = binary.AppendVarint(w.B, v) }

// Float64 appends the 8 bytes of v.
func (w *Writer) Float64(v float64) { w.B = binary.LittleEndian.AppendUint64(w.B, math.Float64bits(v)) }

// Bool appends 0 or 1.
func (w *Writer) Bool(v bool) {
	if v {
		w.B = append(w.B, 1)
	} else {
		w.B = append(w.B, 0)
	}
}

// Bytes appends the length of b and b.
func (w *Writer) Bytes(b []byte) {
	w.Int(len(b))
	w.B = append(w.B, b...)
}

// String appends the length of s and s.
func (w *Writer) String(s string) { w.Bytes([]byte(s)) }

// Sum appends the canonical form of s.
func (w *Writer) Sum(s *exact.Sum) {
	w.B, _ = s.AppendBinary(w.B)
}

// Reader reads fields; the first error sticks and later reads return
// zeros.
type Reader struct {
	B   []byte
	err error
}

// Err returns the first error, or one if bytes are left over when done.
func (r *Reader) Err() error { return r.err }

// Done returns the first error, or an error if bytes remain.
func (r *Reader) Done() error {
	if r.err == nil && len(r.B) != 0 {
		r.err = fmt.Errorf("%d bytes after the last field: %w", len(r.B), ErrCorrupt)
	}
	return r.err
}

// Fail records an error (wrapping ErrCorrupt) if none is recorded yet.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrCorrupt)
	}
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.Fail("truncated or overlong varint")
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Int reads a non-negative int no larger than limit.
func (r *Reader) Int(limit int, what string) int {
	v := r.Uvarint()
	if r.err == nil && v > uint64(limit) {
		r.Fail("%s = %d, more than %d", what, v, limit)
		return 0
	}
	return int(v)
}

// Varint reads a signed varint.
func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.B)
	if n <= 0 {
		r.Fail("truncated or overlong varint")
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Float64 reads 8 bytes.
func (r *Reader) Float64() float64 {
	if r.err != nil {
		return 0
	}
	if len(r.B) < 8 {
		r.Fail("truncated float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.B))
	r.B = r.B[8:]
	return v
}

// Bool reads 0 or 1.
func (r *Reader) Bool() bool {
	if r.err != nil {
		return false
	}
	if len(r.B) < 1 || r.B[0] > 1 {
		r.Fail("bad bool")
		return false
	}
	v := r.B[0] == 1
	r.B = r.B[1:]
	return v
}

// Bytes reads a length-prefixed byte string of at most limit bytes.
func (r *Reader) Bytes(limit int) []byte {
	n := r.Int(limit, "length")
	if r.err != nil {
		return nil
	}
	if len(r.B) < n {
		r.Fail("truncated: %d bytes announced, %d left", n, len(r.B))
		return nil
	}
	b := r.B[:n:n]
	r.B = r.B[n:]
	return b
}

// String reads a length-prefixed string of at most limit bytes.
func (r *Reader) String(limit int) string { return string(r.Bytes(limit)) }

// Sum reads an exact sum into s.
func (r *Reader) Sum(s *exact.Sum) {
	if r.err != nil {
		return
	}
	n, err := s.Decode(r.B)
	if err != nil {
		r.Fail("%v", err)
		return
	}
	r.B = r.B[n:]
}
