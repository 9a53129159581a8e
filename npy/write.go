package npy

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/xentlab/xent/internal/atomicfile"
)

// growthDigits is the number of digits NumPy reserves in the header for
// the first dimension, so that a file can be appended to and its header
// rewritten in place.
const growthDigits = 21

// dtypeOf returns the dtype Write uses for T.
func dtypeOf[T Elem]() DType {
	var zero T
	switch any(zero).(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case int32:
		return Int32
	}
	return Int64
}

// headerBytes returns everything that precedes the data of a C-order array
// of dtype d and the given shape, as NumPy writes it.
func headerBytes(d DType, shape []int) []byte {
	var b strings.Builder
	b.WriteString("{'descr': '")
	b.WriteString(d.String())
	b.WriteString("', 'fortran_order': False, 'shape': ")
	b.WriteString(shapeString(shape))
	b.WriteString(", }")
	if len(shape) > 0 {
		b.WriteString(strings.Repeat(" ", growthDigits-len(strconv.Itoa(shape[0]))))
	}
	return wrapHeader(b.String())
}

// wrapHeader prefixes the header dictionary with the magic string, the
// version and the header length, and pads it with spaces and a newline so
// that the data starts on a 64-byte boundary. It uses version 1.0 unless
// the header is too long for its 16-bit length, then version 2.0.
func wrapHeader(dict string) []byte {
	const align = 64
	hlen := len(dict) + 1 // the newline
	lenSize, major := 2, byte(1)
	pad := align - (len(magic)+2+lenSize+hlen)%align
	if hlen+pad > math.MaxUint16 {
		lenSize, major = 4, 2
		pad = align - (len(magic)+2+lenSize+hlen)%align
	}
	out := make([]byte, 0, len(magic)+2+lenSize+hlen+pad)
	out = append(out, magic...)
	out = append(out, major, 0)
	if lenSize == 2 {
		out = binary.LittleEndian.AppendUint16(out, uint16(hlen+pad))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(hlen+pad))
	}
	out = append(out, dict...)
	out = append(out, strings.Repeat(" ", pad)...)
	return append(out, '\n')
}

// WriteHeader writes the header of a C-order array of dtype d and the
// given shape, as Write does for its own dtypes; the caller writes the
// data after it (the product of the shape times d.Size bytes, in d's byte
// order). It stores what Write does not, such as float16 ('<f2') or
// bfloat16 as raw 2-byte values (DType{Kind: Void, Size: 2}, '|V2', which
// a RowReader reads with the BFloat16 option). d must be a dtype the
// package reads (ErrDType otherwise).
func WriteHeader(w io.Writer, d DType, shape ...int) error {
	if _, err := parseDType(d.String()); err != nil {
		return err
	}
	if _, err := checkShape(shape, d.Size); err != nil {
		return err
	}
	if _, err := w.Write(headerBytes(d, shape)); err != nil {
		return fmt.Errorf("npy: writing the header: %w", err)
	}
	return nil
}

// Write writes x as an .npy array of the given shape to w: float32,
// float64, int32 and int64 as '<f4', '<f8', '<i4' and '<i8', in C order,
// format version 1.0. No shape writes a 0-d scalar (x must then hold one
// element); a vector of n elements has shape n; a matrix rows, cols.
// len(x) must equal the product of the shape (ErrShape otherwise).
func Write[T Elem](w io.Writer, x []T, shape ...int) error {
	d := dtypeOf[T]()
	if err := checkWriteShape(len(x), d, shape); err != nil {
		return err
	}
	if _, err := w.Write(headerBytes(d, shape)); err != nil {
		return fmt.Errorf("npy: writing the header: %w", err)
	}
	const chunk = 1 << 16 // bytes
	buf := make([]byte, min(len(x)*d.Size, chunk))
	per := len(buf) / d.Size
	for len(x) > 0 {
		k := min(per, len(x))
		encode(buf, x[:k])
		if _, err := w.Write(buf[:k*d.Size]); err != nil {
			return fmt.Errorf("npy: writing the data: %w", err)
		}
		x = x[k:]
	}
	return nil
}

func checkWriteShape(n int, d DType, shape []int) error {
	want, err := checkShape(shape, d.Size)
	if err != nil {
		return err
	}
	if want != n {
		return fmt.Errorf("npy: shape %s holds %d elements, but the data has %d: %w", shapeString(shape), want, n, ErrShape)
	}
	return nil
}

// encode stores x little-endian into buf.
func encode[T Elem](buf []byte, x []T) {
	switch x := any(x).(type) {
	case []float32:
		for i, v := range x {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
	case []float64:
		for i, v := range x {
			binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(v))
		}
	case []int32:
		for i, v := range x {
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(v))
		}
	case []int64:
		for i, v := range x {
			binary.LittleEndian.PutUint64(buf[8*i:], uint64(v))
		}
	}
}

// WriteFile writes x as an .npy array of the given shape to the file at
// path, as Write does. The file is replaced atomically: if anything fails,
// an existing file at path is left as it was and no partial file remains.
func WriteFile[T Elem](path string, x []T, shape ...int) error {
	if err := checkWriteShape(len(x), dtypeOf[T](), shape); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		return Write(w, x, shape...)
	})
}
