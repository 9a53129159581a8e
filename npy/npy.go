// Package npy reads and writes NumPy .npy files (format versions 1.0, 2.0
// and 3.0) in pure Go, with plain slices at the boundary: a file holds one
// array, returned as a flat []T in C (row-major) order plus its shape.
//
// # Reading
//
// ReadHeader (or ReadFileHeader) tells the stored dtype and shape without
// reading the data; Read, ReadData and ReadFile then convert the data to
// the element type the caller asks for. The conversions allowed are those
// that keep the meaning of the values:
//
//	reading as   accepts                           notes
//	float32      f2 f4 f8, i1..i8, u1..u8, b1      f8 rounded to nearest even; beyond ±MaxFloat32 → ±Inf
//	float64      f2 f4 f8, i1..i8, u1..u8, b1      exact, except integers beyond ±2⁵³ (rounded)
//	int32        i1..i8, u1..u8, b1                error for a value outside the int32 range
//	int64        i1..i8, u1..u8, b1                error for a u8 value above MaxInt64
//
// Integers read as float32 are exact up to ±2²⁴ and rounded beyond; bools
// read as 0 and 1 (any nonzero byte is 1). Floating-point data is never
// read as integers (ErrConversion): labels must be stored with an integer
// dtype. Little-endian ('<'), big-endian ('>', byte-swapped on read) and
// byte-order-free ('|', one-byte types only) dtypes are accepted; '='
// (native order) is rejected because a file does not say whose native
// order it means. Complex, string, datetime, structured and object ('|O',
// pickled Python objects) arrays are rejected with ErrDType.
//
// Arrays stored with fortran_order True are reordered on read, for any
// number of dimensions, so the returned slice is always in C order;
// Header.FortranOrder tells how the file stored it. Shapes of any rank up
// to MaxDims are accepted, including 0-d scalars (shape (), one element)
// and zero-sized dimensions (no elements).
//
// Read and ReadData consume exactly the header and the data from an
// io.Reader and leave whatever follows unread, so several arrays can be
// read one after another from a stream. ReadFile and ReadFileHeader check
// the file's size against the header first: a file shorter than the header
// promises fails with ErrTruncated before any data is read, and a file
// with bytes after the data fails with ErrTrailing, since such a file was
// most likely written with a different shape or dtype than its header
// says.
//
// A malformed file gives an error, never a panic, and never makes the
// reader allocate much more than the input really holds: memory grows with
// the bytes actually read, so a header announcing a huge shape followed by
// a few bytes fails with ErrTruncated after allocating little.
//
// # Writing
//
// Write and WriteFile store float32, float64, int32 and int64 data as
// little-endian '<f4', '<f8', '<i4' and '<i8' in C order, with the header
// laid out as NumPy lays it out: the dictionary keys in sorted order, room
// for the first dimension to grow, spaces up to a 64-byte boundary and a
// final newline. The format is 1.0 unless the header does not fit in its
// 65535 bytes, then 2.0. WriteFile writes atomically: a reader sees the old
// file or the complete new one, never a half-written file.
//
// # Errors
//
// Every error wraps one of the sentinel errors below, so callers can test
// the kind with errors.Is, and says what was found and what was expected.
package npy

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/xentlab/xent/internal/xerr"
)

// The kinds of error the package returns, wrapped with the details.
var (
	// ErrNotNPY: the input does not start with the .npy magic string.
	ErrNotNPY = errors.New("not an .npy file")
	// ErrVersion: a format version other than 1.0, 2.0 and 3.0.
	ErrVersion = errors.New("unsupported .npy format version")
	// ErrHeader: the header dictionary is malformed or has wrong keys or values.
	ErrHeader = errors.New("malformed .npy header")
	// ErrDType: a dtype the package does not read.
	ErrDType = errors.New("unsupported dtype")
	// ErrShape: a shape that is negative, has too many dimensions, whose
	// size overflows, or (when writing) does not match the data.
	// It is the same value in every package of the module, so errors.Is
	// matches it whichever package the error came from.
	ErrShape = xerr.ErrShape
	// ErrTruncated: the input ends before the header or the data does.
	ErrTruncated = errors.New("truncated .npy data")
	// ErrTrailing: a file has bytes after the end of the array data.
	ErrTrailing = errors.New("trailing data after the array")
	// ErrConversion: the stored dtype cannot be read as the requested
	// type, or a value does not fit in it.
	ErrConversion = errors.New("conversion not allowed")
)

// MaxDims is the largest number of dimensions accepted, the limit NumPy
// itself has (NPY_MAXDIMS).
const MaxDims = 64

// maxHeaderLen bounds the header dictionary. Headers of the arrays this
// package reads are a few hundred bytes; NumPy refuses by default to parse
// headers above 10000 bytes.
const maxHeaderLen = 1 << 20

// Elem is the set of element types the package reads into and writes from.
type Elem interface {
	float32 | float64 | int32 | int64
}

// Kind is the kind of a dtype, the character NumPy uses for it.
type Kind byte

// The dtype kinds the package reads.
const (
	Bool  Kind = 'b' // numpy.bool_, one byte, 0 or 1
	Int   Kind = 'i' // signed integer
	Uint  Kind = 'u' // unsigned integer
	Float Kind = 'f' // IEEE 754 binary floating point
	// Void is raw 2-byte data ('|V2'), the form in which NumPy saves
	// bfloat16 arrays (ml_dtypes); only RowReader reads it, as bfloat16.
	Void Kind = 'V'
)

// DType is the element type of a stored array: its kind, its size in
// bytes and its byte order.
type DType struct {
	Kind      Kind
	Size      int  // bytes per element: 1, 2, 4 or 8
	BigEndian bool // stored most significant byte first (meaningless for Size 1)
}

// The dtypes Write produces.
var (
	Float32 = DType{Kind: Float, Size: 4}
	Float64 = DType{Kind: Float, Size: 8}
	Int32   = DType{Kind: Int, Size: 4}
	Int64   = DType{Kind: Int, Size: 8}
)

// String returns the dtype in NumPy's notation, e.g. "<f4", ">i8" or "|u1".
func (d DType) String() string {
	order := "<"
	switch {
	case d.Size == 1 || d.Kind == Void:
		order = "|"
	case d.BigEndian:
		order = ">"
	}
	return order + string(rune(d.Kind)) + strconv.Itoa(d.Size)
}

// parseDType parses a descr string such as "<f4". It accepts exactly the
// dtypes the package reads and explains every other one.
func parseDType(s string) (DType, error) {
	bad := func(why string) (DType, error) {
		return DType{}, fmt.Errorf("npy: dtype %q: %s: %w", s, why, ErrDType)
	}
	if len(s) > 0 && s[0] == 'O' {
		return bad("object arrays hold pickled Python objects and cannot be read")
	}
	if len(s) < 2 {
		return bad("too short to be a dtype")
	}
	order, rest := s[0], s[1:]
	switch order {
	case '<', '>', '|':
	case '=':
		return bad("native byte order '=' is ambiguous in a file; want '<' or '>'")
	default:
		return bad("want a byte order '<', '>' or '|' followed by a kind and a size, as in \"<f4\"")
	}
	kind := Kind(rest[0])
	digits := rest[1:]
	switch rest[0] {
	case 'O':
		return bad("object arrays hold pickled Python objects and cannot be read")
	case 'c':
		return bad("complex numbers are not supported")
	case 'S', 'a', 'U':
		return bad("string arrays are not supported")
	case 'V':
		if digits != "2" {
			return bad("void (raw bytes or structured) arrays are not supported, except raw 2-byte values (bfloat16)")
		}
		return DType{Kind: Void, Size: 2}, nil
	case 'M', 'm':
		return bad("datetime and timedelta arrays are not supported")
	case 'b', 'i', 'u', 'f':
	default:
		return bad("unknown kind " + strconv.QuoteRune(rune(rest[0])))
	}
	size, err := strconv.Atoi(digits)
	if err != nil || digits == "" || digits[0] == '+' || digits[0] == '-' {
		return bad("want an item size in bytes after the kind")
	}
	ok := false
	switch kind {
	case Bool:
		ok = size == 1
	case Int, Uint:
		ok = size == 1 || size == 2 || size == 4 || size == 8
	case Float:
		ok = size == 2 || size == 4 || size == 8
	}
	if !ok {
		return bad("item size " + strconv.Itoa(size) + " is not supported for this kind")
	}
	if order == '|' && size != 1 {
		return bad("byte order '|' is only valid for one-byte types; want '<' or '>'")
	}
	return DType{Kind: kind, Size: size, BigEndian: order == '>' && size > 1}, nil
}

// Header describes a stored array: everything in the file before the data.
type Header struct {
	// Major and Minor are the format version: 1.0, 2.0 or 3.0.
	Major, Minor int
	// DType is the stored element type.
	DType DType
	// FortranOrder reports that the file stores the data in column-major
	// order. The read functions reorder it: they always return C order.
	FortranOrder bool
	// Shape is the array's shape; empty for a 0-d scalar.
	Shape []int
	// DataOffset is the position of the first data byte in the file: the
	// length of magic string, version, header length and header.
	DataOffset int64
}

// Len returns the number of elements: the product of the shape, 1 for a
// 0-d scalar.
func (h Header) Len() int {
	n := 1
	for _, d := range h.Shape {
		n *= d
	}
	return n
}

// DataSize returns the number of data bytes that follow the header.
func (h Header) DataSize() int64 {
	return int64(h.Len()) * int64(h.DType.Size)
}

// String describes the header in one line, e.g. "<f4 (3, 4) v1.0".
func (h Header) String() string {
	s := h.DType.String() + " " + shapeString(h.Shape) + " v" + strconv.Itoa(h.Major) + "." + strconv.Itoa(h.Minor)
	if h.FortranOrder {
		s += " fortran_order"
	}
	return s
}

// shapeString formats a shape as Python writes a tuple: (), (3,), (2, 3).
func shapeString(shape []int) string {
	b := []byte{'('}
	for i, d := range shape {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(d), 10)
	}
	if len(shape) == 1 {
		b = append(b, ',')
	}
	return string(append(b, ')'))
}

// checkShape validates a shape and returns its element count. itemSize
// bounds the byte size as well, so that count*itemSize fits in an int.
func checkShape(shape []int, itemSize int) (int, error) {
	if len(shape) > MaxDims {
		return 0, fmt.Errorf("npy: %d dimensions, at most %d are supported: %w", len(shape), MaxDims, ErrShape)
	}
	const maxInt = int(^uint(0) >> 1)
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("npy: shape %s has a negative dimension: %w", shapeString(shape), ErrShape)
		}
	}
	for _, d := range shape {
		if d == 0 {
			return 0, nil
		}
	}
	for _, d := range shape {
		if n > maxInt/itemSize/d {
			return 0, fmt.Errorf("npy: shape %s: the array size overflows: %w", shapeString(shape), ErrShape)
		}
		n *= d
	}
	return n, nil
}
