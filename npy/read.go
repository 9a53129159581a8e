package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"unicode/utf8"
)

// magic is the string every .npy file starts with.
const magic = "\x93NUMPY"

// ReadHeader reads the header of an .npy stream and leaves r positioned at
// the first data byte. It reads nothing beyond the header.
func ReadHeader(r io.Reader) (Header, error) {
	var h Header
	var pre [8]byte
	n, err := io.ReadFull(r, pre[:])
	if err != nil {
		if n == 0 && err == io.EOF {
			return h, fmt.Errorf("npy: empty input: %w", ErrNotNPY)
		}
		if err != io.ErrUnexpectedEOF {
			return h, fmt.Errorf("npy: reading the header: %w", err)
		}
	}
	if m := min(n, len(magic)); string(pre[:m]) != magic[:m] {
		return h, fmt.Errorf("npy: the input starts with %q, want the magic string %q: %w", pre[:m], magic, ErrNotNPY)
	}
	if n < len(pre) {
		return h, fmt.Errorf("npy: the input ends after %d bytes, inside the magic string and version: %w", n, ErrTruncated)
	}
	h.Major, h.Minor = int(pre[6]), int(pre[7])
	var lenSize int
	switch {
	case h.Major == 1 && h.Minor == 0:
		lenSize = 2
	case (h.Major == 2 || h.Major == 3) && h.Minor == 0:
		lenSize = 4
	default:
		return h, fmt.Errorf("npy: format version %d.%d, want 1.0, 2.0 or 3.0: %w", h.Major, h.Minor, ErrVersion)
	}
	var lb [4]byte
	if n, err := io.ReadFull(r, lb[:lenSize]); err != nil {
		return h, truncated(err, "header length", lenSize, n)
	}
	hlen := int64(binary.LittleEndian.Uint32(lb[:]))
	if hlen > maxHeaderLen {
		return h, fmt.Errorf("npy: header length %d bytes exceeds the limit of %d: %w", hlen, maxHeaderLen, ErrHeader)
	}
	// Grow the buffer with what actually arrives rather than trusting hlen.
	var buf bytes.Buffer
	if n, err := io.CopyN(&buf, r, hlen); err != nil {
		return h, truncated(err, "header", int(hlen), int(n))
	}
	h.DataOffset = int64(len(pre)+lenSize) + hlen
	text := buf.Bytes()
	if h.Major >= 3 {
		if !utf8.Valid(text) {
			return h, fmt.Errorf("npy: a version 3.0 header must be UTF-8: %w", ErrHeader)
		}
	} else if i := bytes.IndexFunc(text, func(r rune) bool { return r >= utf8.RuneSelf }); i >= 0 {
		// Versions 1.0 and 2.0 are latin-1. Non-ASCII bytes can only be in
		// field names of structured dtypes, which are not read anyway;
		// replacing them keeps the parse byte-for-byte aligned.
		text = bytes.Map(func(r rune) rune {
			if r >= utf8.RuneSelf {
				return '?'
			}
			return r
		}, text)
	}
	if err := parseHeaderDict(string(text), &h); err != nil {
		return Header{}, err
	}
	return h, nil
}

// truncated builds the error for a short read of want bytes of which got
// arrived.
func truncated(err error, what string, want, got int) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("npy: %s: expected %d bytes, found %d: %w", what, want, got, ErrTruncated)
	}
	return fmt.Errorf("npy: reading the %s: %w", what, err)
}

// Read reads one array from r as element type T (see the package
// documentation for the conversions allowed) and returns its data in C
// order with its header. It reads exactly the header and the data and
// leaves anything after them unread.
func Read[T Elem](r io.Reader) ([]T, Header, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, h, err
	}
	x, err := ReadData[T](r, h)
	if err != nil {
		return nil, h, err
	}
	return x, h, nil
}

// ReadData reads the data described by h from r, which must be positioned
// just after the header (as ReadHeader leaves it), converting it to T.
func ReadData[T Elem](r io.Reader, h Header) ([]T, error) {
	if _, err := parseDType(h.DType.String()); err != nil {
		return nil, err // a Header built by hand with a dtype not read here
	}
	n, err := checkShape(h.Shape, h.DType.Size)
	if err != nil {
		return nil, err
	}
	dec, err := decoderFor[T](h.DType)
	if err != nil {
		return nil, err
	}
	size := h.DType.Size
	nbytes := n * size
	out := make([]T, 0, initialCap(r, n, nbytes))
	const chunk = 1 << 16 // bytes, a multiple of every item size
	buf := make([]byte, min(nbytes, chunk))
	for done := 0; done < nbytes; {
		k, err := io.ReadFull(r, buf[:min(chunk, nbytes-done)])
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil, fmt.Errorf("npy: data of %s %s: expected %d bytes, found %d: %w",
					h.DType, shapeString(h.Shape), nbytes, done+k, ErrTruncated)
			}
			return nil, fmt.Errorf("npy: reading the data: %w", err)
		}
		if h.DType.BigEndian {
			swapBytes(buf[:k], size)
		}
		m := len(out)
		out = slices.Grow(out, k/size)[:m+k/size]
		if err := dec(out[m:], buf[:k], m); err != nil {
			return nil, err
		}
		done += k
	}
	if h.FortranOrder {
		out = fromFortran(out, h.Shape)
	}
	return out, nil
}

// initialCap returns how many elements to allocate up front: all n when
// the reader can tell that it holds the nbytes, otherwise a modest amount
// that grows as the data arrives.
func initialCap(r io.Reader, n, nbytes int) int {
	if avail, ok := remaining(r); ok && avail >= int64(nbytes) {
		return n
	}
	return min(n, 1<<14)
}

// remaining reports how many bytes r has left, when it can tell cheaply.
func remaining(r io.Reader) (int64, bool) {
	switch v := r.(type) {
	case interface{ Len() int }: // bytes.Reader, bytes.Buffer, strings.Reader
		return int64(v.Len()), true
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		pos, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, false
		}
		return fi.Size() - pos, true
	}
	return 0, false
}

// ReadFileHeader reads the header of the .npy file at path. Like ReadFile,
// it checks the file's size against the header: ErrTruncated if the file
// is too short for the data, ErrTrailing if it is longer.
func ReadFileHeader(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	h, err := readFileHeader(f)
	if err != nil {
		return h, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

func readFileHeader(f *os.File) (Header, error) {
	h, err := ReadHeader(f)
	if err != nil {
		return h, err
	}
	fi, err := f.Stat()
	if err != nil {
		return h, fmt.Errorf("npy: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return h, nil
	}
	want := h.DataOffset + h.DataSize()
	switch size := fi.Size(); {
	case size < want:
		return h, fmt.Errorf("npy: data of %s %s: expected %d bytes, the file holds %d: %w",
			h.DType, shapeString(h.Shape), h.DataSize(), max(size-h.DataOffset, 0), ErrTruncated)
	case size > want:
		return h, fmt.Errorf("npy: %d bytes after the end of the %s %s data (file size %d, want %d): %w",
			size-want, h.DType, shapeString(h.Shape), size, want, ErrTrailing)
	}
	return h, nil
}

// ReadFile reads the .npy file at path as element type T (see the package
// documentation for the conversions allowed) and returns its data in C
// order with its header. A file with bytes after the array data is
// rejected with ErrTrailing. The file is opened once, so path may be a
// pipe (/dev/stdin).
func ReadFile[T Elem](path string) ([]T, Header, error) {
	f, err := Open(path)
	if err != nil {
		return nil, Header{}, err
	}
	defer f.Close()
	x, err := ReadAll[T](f)
	return x, f.Header, err
}

// File is an .npy file opened by Open: its header has been read and
// checked, and the file is positioned at the first data byte. Reading
// the header and the data through one File reads one file, even when
// the path is a pipe or is replaced in between.
type File struct {
	Header Header
	f      *os.File
	path   string
}

// Open opens the .npy file at path and reads its header, checking it
// against the file's size as ReadFileHeader does. The caller decides
// from f.Header how to read the data (ReadAll) and must Close f.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	h, err := readFileHeader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{Header: h, f: f, path: path}, nil
}

// Path returns the path f was opened with.
func (f *File) Path() string { return f.path }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// ReadAll reads the data of an opened file as element type T and checks
// that nothing follows it (ErrTrailing). Call it once per File.
func ReadAll[T Elem](f *File) ([]T, error) {
	h := f.Header
	x, err := ReadData[T](f.f, h)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	// A file that is not regular (a pipe) was not size-checked.
	var one [1]byte
	if k, _ := f.f.Read(one[:]); k > 0 {
		return nil, fmt.Errorf("%s: npy: bytes after the end of the %s %s data: %w", f.path, h.DType, shapeString(h.Shape), ErrTrailing)
	}
	return x, nil
}

// fromFortran reorders column-major data of the given shape into row-major
// order.
func fromFortran[T any](in []T, shape []int) []T {
	if len(shape) < 2 || len(in) == 0 {
		return in
	}
	out := make([]T, len(in))
	nd := len(shape)
	// cstride[j] is the row-major stride of dimension j.
	cstride := make([]int, nd)
	s := 1
	for j := nd - 1; j >= 0; j-- {
		cstride[j] = s
		s *= shape[j]
	}
	// Walk the input in storage order: dimension 0 varies fastest.
	idx := make([]int, nd)
	c := 0
	for _, v := range in {
		out[c] = v
		for j := 0; j < nd; j++ {
			idx[j]++
			c += cstride[j]
			if idx[j] < shape[j] {
				break
			}
			c -= idx[j] * cstride[j]
			idx[j] = 0
		}
	}
	return out
}

// swapBytes reverses the bytes of each size-byte element of b in place.
func swapBytes(b []byte, size int) {
	switch size {
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			binary.LittleEndian.PutUint16(b[i:], binary.BigEndian.Uint16(b[i:]))
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], binary.BigEndian.Uint32(b[i:]))
		}
	case 8:
		for i := 0; i+7 < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], binary.BigEndian.Uint64(b[i:]))
		}
	}
}

// decoder converts the raw little-endian bytes of whole elements in src
// into dst;
// base is the index of dst[0] in the array, for error messages.
type decoder[T Elem] func(dst []T, src []byte, base int) error

// decoderFor returns the decoder from dtype d to T, or ErrConversion.
func decoderFor[T Elem](d DType) (decoder[T], error) {
	var zero T
	// ReadData swaps big-endian data to little-endian before decoding.
	order := binary.LittleEndian
	isFloat := false
	var lo, hi int64
	switch any(zero).(type) {
	case float32, float64:
		isFloat = true
	case int32:
		lo, hi = math.MinInt32, math.MaxInt32
	case int64:
		lo, hi = math.MinInt64, math.MaxInt64
	}
	if d.Kind == Float {
		if !isFloat {
			return nil, fmt.Errorf("npy: cannot read %s (floating point) as %T: labels and indices must be stored with an integer dtype: %w", d, zero, ErrConversion)
		}
		switch d.Size {
		case 2:
			return func(dst []T, src []byte, _ int) error {
				for i := range dst {
					dst[i] = T(halfToFloat32(order.Uint16(src[2*i:])))
				}
				return nil
			}, nil
		case 4:
			return func(dst []T, src []byte, _ int) error {
				for i := range dst {
					dst[i] = T(math.Float32frombits(order.Uint32(src[4*i:])))
				}
				return nil
			}, nil
		case 8:
			return func(dst []T, src []byte, _ int) error {
				for i := range dst {
					dst[i] = T(math.Float64frombits(order.Uint64(src[8*i:])))
				}
				return nil
			}, nil
		}
	}
	if d.Kind != Bool && d.Kind != Int && d.Kind != Uint {
		return nil, fmt.Errorf("npy: cannot read %s as %T: %w", d, zero, ErrDType)
	}
	// Integers and bools: load each as int64 (or uint64 for unsigned) and
	// range-check when T is an integer type.
	load := func(src []byte, i int) (int64, uint64) {
		switch d.Size {
		case 1:
			b := src[i]
			if d.Kind == Bool {
				if b != 0 {
					return 1, 1
				}
				return 0, 0
			}
			if d.Kind == Int {
				return int64(int8(b)), 0
			}
			return int64(b), uint64(b)
		case 2:
			u := order.Uint16(src[2*i:])
			if d.Kind == Int {
				return int64(int16(u)), 0
			}
			return int64(u), uint64(u)
		case 4:
			u := order.Uint32(src[4*i:])
			if d.Kind == Int {
				return int64(int32(u)), 0
			}
			return int64(u), uint64(u)
		default:
			u := order.Uint64(src[8*i:])
			if d.Kind == Int {
				return int64(u), 0
			}
			return int64(u), u
		}
	}
	unsigned64 := d.Kind == Uint && d.Size == 8
	if isFloat {
		return func(dst []T, src []byte, _ int) error {
			for i := range dst {
				v, u := load(src, i)
				if unsigned64 {
					dst[i] = T(u)
				} else {
					dst[i] = T(v)
				}
			}
			return nil
		}, nil
	}
	return func(dst []T, src []byte, base int) error {
		for i := range dst {
			v, u := load(src, i)
			if unsigned64 && u > math.MaxInt64 {
				return fmt.Errorf("npy: element %d of the %s data is %d, outside the range of %T: %w", base+i, d, u, zero, ErrConversion)
			}
			if v < lo || v > hi {
				return fmt.Errorf("npy: element %d of the %s data is %d, outside the range of %T: %w", base+i, d, v, zero, ErrConversion)
			}
			dst[i] = T(v)
		}
		return nil
	}, nil
}

// halfToFloat32 converts an IEEE 754 binary16 value to float32 exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac · 2⁻²⁴
		f := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}
