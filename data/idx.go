package data

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// The idx format (used by MNIST): two zero bytes, a type byte, the number
// of dimensions, each dimension as a big-endian uint32, then the data,
// big-endian, in row-major order.

// idxType describes an idx element type.
type idxType struct {
	name string
	size int
}

var idxTypes = map[byte]idxType{
	0x08: {"unsigned byte", 1},
	0x09: {"signed byte", 1},
	0x0B: {"short", 2},
	0x0C: {"int", 4},
	0x0D: {"float", 4},
	0x0E: {"double", 8},
}

// maxIDXDims bounds the number of dimensions of an idx file.
const maxIDXDims = 16

type idxHeader struct {
	typ  byte
	t    idxType
	dims []int
	n    int // number of elements
}

func readIDXHeader(r io.Reader, what string) (idxHeader, error) {
	var h idxHeader
	var m [4]byte
	if n, err := io.ReadFull(r, m[:]); err != nil {
		if n == 0 && err == io.EOF {
			return h, fmt.Errorf("data: %s: empty input: %w", what, ErrFormat)
		}
		if err != io.ErrUnexpectedEOF {
			return h, err
		}
		return h, fmt.Errorf("data: %s: the input ends after %d bytes, inside the idx magic number: %w", what, n, ErrFormat)
	}
	if m[0] != 0 || m[1] != 0 {
		return h, fmt.Errorf("data: %s: not an idx file: it starts with % x, want 00 00 <type> <dimensions>: %w", what, m[:], ErrFormat)
	}
	t, ok := idxTypes[m[2]]
	if !ok {
		return h, fmt.Errorf("data: %s: unknown idx element type 0x%02x (want 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e): %w", what, m[2], ErrFormat)
	}
	h.typ, h.t = m[2], t
	nd := int(m[3])
	if nd == 0 || nd > maxIDXDims {
		return h, fmt.Errorf("data: %s: idx file with %d dimensions, want 1 to %d: %w", what, nd, maxIDXDims, ErrFormat)
	}
	var d [4 * maxIDXDims]byte
	if n, err := io.ReadFull(r, d[:4*nd]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return h, fmt.Errorf("data: %s: idx dimensions: expected %d bytes, found %d: %w", what, 4*nd, n, ErrFormat)
		}
		return h, err
	}
	h.dims = make([]int, nd)
	h.n = 1
	for i := range h.dims {
		h.dims[i] = int(binary.BigEndian.Uint32(d[4*i:]))
	}
	for _, v := range h.dims {
		if v == 0 {
			h.n = 0
		}
	}
	if h.n != 0 {
		for _, v := range h.dims {
			if h.n > math.MaxInt/t.size/v {
				return h, fmt.Errorf("data: %s: idx dimensions %v overflow: %w", what, h.dims, ErrFormat)
			}
			h.n *= v
		}
	}
	return h, nil
}

// readIDXFeatures reads an idx array of at least two dimensions as a
// matrix: the first dimension is the row, the others are flattened into
// the columns. Unsigned bytes are scaled to [0, 1]; other types are
// converted to float32 unchanged.
// Memory grows with the data that arrives, not with what the header
// claims.
func readIDXFeatures(r io.Reader) (x []float32, rows, cols int, err error) {
	const what = "idx images"
	h, err := readIDXHeader(r, what)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(h.dims) < 2 {
		return nil, 0, 0, fmt.Errorf("data: %s: %d dimension(s) %v, want at least 2 (rows and features): %w", what, len(h.dims), h.dims, ErrFormat)
	}
	rows, cols = h.dims[0], 1
	for _, v := range h.dims[1:] {
		if v != 0 && cols > math.MaxInt/v {
			return nil, 0, 0, fmt.Errorf("data: %s: idx dimensions %v overflow: %w", what, h.dims, ErrFormat)
		}
		cols *= v
	}
	x = make([]float32, 0, min(h.n, 1<<16))
	size := h.t.size
	err = readBody(r, h.n*size, size, what+" data", func(b []byte, first int) error {
		m := len(b) / size
		start := len(x)
		x = grow(x, m, h.n)[:start+m]
		dst := x[start:]
		switch h.typ {
		case 0x08:
			for i, v := range b {
				dst[i] = byteScale[v]
			}
		case 0x09:
			for i, v := range b {
				dst[i] = float32(int8(v))
			}
		case 0x0B:
			for i := range dst {
				dst[i] = float32(int16(binary.BigEndian.Uint16(b[2*i:])))
			}
		case 0x0C:
			for i := range dst {
				dst[i] = float32(int32(binary.BigEndian.Uint32(b[4*i:])))
			}
		case 0x0D, 0x0E:
			for i := range dst {
				var v float64
				if h.typ == 0x0D {
					v = float64(math.Float32frombits(binary.BigEndian.Uint32(b[4*i:])))
				} else {
					v = math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
				}
				f := float32(v)
				if math.IsNaN(v) || math.IsInf(float64(f), 0) {
					e := first + i
					return fmt.Errorf("data: %s: row %d, column %d: value %v is not a finite float32: %w", what, e/cols, e%cols, v, ErrFormat)
				}
				dst[i] = f
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, 0, err
	}
	if err := checkEnd(r, what); err != nil {
		return nil, 0, 0, err
	}
	return x, rows, cols, nil
}

// grow returns s with room for m more elements, doubling its capacity
// (but not beyond limit) when it must reallocate.
func grow[T any](s []T, m, limit int) []T {
	if len(s)+m <= cap(s) {
		return s
	}
	c := min(max(2*cap(s), len(s)+m), max(limit, len(s)+m))
	t := make([]T, len(s), c)
	copy(t, s)
	return t
}

// byteScale maps a pixel byte to [0, 1].
var byteScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// readIDXLabels reads a one-dimensional idx array of non-negative
// integers.
func readIDXLabels(r io.Reader) ([]int32, error) {
	const what = "idx labels"
	h, err := readIDXHeader(r, what)
	if err != nil {
		return nil, err
	}
	if len(h.dims) != 1 {
		return nil, fmt.Errorf("data: %s: %d dimensions %v, want 1: %w", what, len(h.dims), h.dims, ErrFormat)
	}
	if h.typ == 0x0D || h.typ == 0x0E {
		return nil, fmt.Errorf("data: %s: element type %s, want an integer type: %w", what, h.t.name, ErrFormat)
	}
	y := make([]int32, 0, min(h.n, 1<<16))
	size := h.t.size
	err = readBody(r, h.n*size, size, what+" data", func(b []byte, first int) error {
		for i := 0; i < len(b); i += size {
			var v int32
			switch h.typ {
			case 0x08:
				v = int32(b[i])
			case 0x09:
				v = int32(int8(b[i]))
			case 0x0B:
				v = int32(int16(binary.BigEndian.Uint16(b[i:])))
			case 0x0C:
				v = int32(binary.BigEndian.Uint32(b[i:]))
			}
			if v < 0 {
				return fmt.Errorf("data: %s: label %d of row %d is negative: %w", what, v, first+i/size, ErrFormat)
			}
			y = append(y, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := checkEnd(r, what); err != nil {
		return nil, err
	}
	return y, nil
}

// ReadIDX reads a data set from a pair of idx streams, the format MNIST is
// distributed in, each gzipped or not: images holds the features, an
// array of at least two dimensions whose first is the example (MNIST's
// [n, 28, 28] gives 784 columns), and labels a one-dimensional array of
// non-negative integers, one per example. Unsigned-byte features (pixels)
// are scaled to [0, 1]; other types are converted to float32 unchanged,
// and must be finite. The labels are the classes; Classes is one more than
// the largest. Each stream must end with its array.
func ReadIDX(images, labels io.Reader) (Set, error) {
	return readIDX(images, labels)
}

func readIDX(images, labels io.Reader) (Set, error) {
	x, rows, cols, err := idxFeatures(images)
	if err != nil {
		return Set{}, err
	}
	y, err := idxLabels(labels)
	if err != nil {
		return Set{}, err
	}
	return newIndexedSet(x, rows, cols, y, "idx")
}

func idxFeatures(r io.Reader) ([]float32, int, int, error) {
	r, stop, err := decompress(r)
	defer stop()
	if err != nil {
		return nil, 0, 0, err
	}
	return readIDXFeatures(r)
}

func idxLabels(r io.Reader) ([]int32, error) {
	r, stop, err := decompress(r)
	defer stop()
	if err != nil {
		return nil, err
	}
	return readIDXLabels(r)
}

// newIndexedSet assembles a set whose labels are class indices.
func newIndexedSet(x []float32, rows, cols int, y []int32, what string) (Set, error) {
	if len(y) != rows {
		return Set{}, fmt.Errorf("data: %s: %d feature rows but %d labels: %w", what, rows, len(y), ErrFormat)
	}
	// As the CSV and LibSVM readers, refuse a set with nothing to learn
	// from or evaluate.
	if rows == 0 {
		return Set{}, fmt.Errorf("data: %s: no examples (0 rows): %w", what, ErrFormat)
	}
	if cols == 0 {
		return Set{}, fmt.Errorf("data: %s: no features (0 columns): %w", what, ErrFormat)
	}
	classes := 0
	for _, v := range y {
		classes = max(classes, int(v)+1)
	}
	return Set{X: x, Rows: rows, Cols: cols, Y: y, Classes: classes}, nil
}

// LoadIDX reads a data set from an idx image file and an idx label file,
// gzipped or not, as ReadIDX does.
func LoadIDX(imagesPath, labelsPath string) (Set, error) {
	var x []float32
	var rows, cols int
	err := withFile(imagesPath, func(r io.Reader) (err error) {
		x, rows, cols, err = idxFeatures(r)
		return err
	})
	if err != nil {
		return Set{}, err
	}
	var y []int32
	err = withFile(labelsPath, func(r io.Reader) (err error) {
		y, err = idxLabels(r)
		return err
	})
	if err != nil {
		return Set{}, err
	}
	return newIndexedSet(x, rows, cols, y, "idx")
}
