package npy

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unsafe"
)

// RowReader reads an array a block of rows at a time, so that a file far
// larger than memory can be processed in a bounded window: dimension 0
// indexes the rows and the other dimensions, flattened in C order, are the
// columns (a 1-D array [N] has N rows of one column). It reads forward
// only and holds no more than the block its caller asks for, except for
// an array stored with fortran_order True, whose rows are not contiguous
// in the file: such an array is read whole on the first call.
//
// Rows are converted as ReadData converts them (see the package
// documentation), and a RowReader also reads bfloat16 data — the top half
// of a float32, stored in two bytes — when made with the BFloat16 option:
// '|V2' (the raw 2-byte form in which NumPy saves an ml_dtypes bfloat16
// array), '<u2' or '<i2' (the bits of a PyTorch bfloat16 tensor viewed as
// 16-bit integers). float16 ('<f2') needs no option. Little-endian data
// read into the element type it is stored in (float32 from '<f4', float64
// from '<f8', int32 from '<i4', int64 from '<i8') is read straight into
// the caller's slice, with no copy in between.
type RowReader struct {
	r     io.Reader
	c     io.Closer // the file of OpenRows
	h     Header
	rows  int
	cols  int
	next  int // index of the next row
	bf16  bool
	buf   []byte
	whole any // the array of a Fortran-ordered file, read at once
}

// A RowOption changes how a RowReader interprets the data.
type RowOption func(*RowReader)

// BFloat16 makes the reader take 2-byte data ('|V2', '<u2', '<i2' and their
// big-endian forms) as bfloat16 values, converted exactly to float32 or
// float64. '<f2' stays IEEE float16.
func BFloat16() RowOption { return func(r *RowReader) { r.bf16 = true } }

// NewRowReader reads the header of an .npy stream from r and returns a
// reader of its rows. The array must have at least one dimension.
func NewRowReader(r io.Reader, opts ...RowOption) (*RowReader, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	return newRowReader(r, h, opts)
}

func newRowReader(r io.Reader, h Header, opts []RowOption) (*RowReader, error) {
	rr := &RowReader{r: r, h: h}
	for _, o := range opts {
		o(rr)
	}
	if len(h.Shape) == 0 {
		return nil, fmt.Errorf("npy: a 0-d scalar has no rows: %w", ErrShape)
	}
	if _, err := checkShape(h.Shape, h.DType.Size); err != nil {
		return nil, err
	}
	rr.rows, rr.cols = h.Shape[0], 1
	for _, d := range h.Shape[1:] {
		rr.cols *= d
	}
	if rr.bf16 && (h.DType.Size != 2 || h.DType.Kind == Float) {
		return nil, fmt.Errorf("npy: dtype %s is not a 2-byte raw or integer type to read as bfloat16 (float16 is '<f2'): %w", h.DType, ErrConversion)
	}
	if h.DType.Kind == Void && !rr.bf16 {
		return nil, fmt.Errorf("npy: dtype %s holds raw 2-byte values, as NumPy saves bfloat16: read them as bfloat16: %w", h.DType, ErrConversion)
	}
	return rr, nil
}

// OpenRows opens the .npy file at path for reading by rows. Like
// ReadFileHeader it checks the file's size against the header first
// (ErrTruncated, ErrTrailing). Close the reader when done.
func OpenRows(path string, opts ...RowOption) (*RowReader, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	rr, err := newRowReader(f.f, f.Header, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rr.c = f.f
	return rr, nil
}

// Close closes the file of a reader made by OpenRows; it does nothing for
// one made by NewRowReader.
func (r *RowReader) Close() error {
	if r.c == nil {
		return nil
	}
	c := r.c
	r.c = nil
	return c.Close()
}

// Header returns the array's header.
func (r *RowReader) Header() Header { return r.h }

// Rows returns the number of rows: the first dimension.
func (r *RowReader) Rows() int { return r.rows }

// Cols returns the number of elements in a row: the product of the other
// dimensions (1 for a 1-D array).
func (r *RowReader) Cols() int { return r.cols }

// Row returns the number of rows read so far: the index of the next one.
func (r *RowReader) Row() int { return r.next }

// IsFloat reports whether the values are floating point (float16,
// bfloat16, float32, float64) rather than integers or bools.
func (r *RowReader) IsFloat() bool { return r.h.DType.Kind == Float || r.bf16 }

// hostLittle is true on little-endian machines, where stored little-endian
// data of the destination's type is read straight into the destination.
var hostLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// ReadRows reads the next rows into dst, as many as fit in it (at least
// one row must) and remain, and returns how many it read: dst[:n·Cols()]
// holds them. When every row has been read it returns 0 and io.EOF. A
// stream that ends early is an error wrapping ErrTruncated that names the
// row; a value that does not fit in T is an error wrapping ErrConversion.
func ReadRows[T Elem](r *RowReader, dst []T) (int, error) {
	left := r.rows - r.next
	if left == 0 {
		return 0, io.EOF
	}
	if r.cols == 0 {
		r.next = r.rows
		return left, nil
	}
	n := min(len(dst)/r.cols, left)
	if n == 0 {
		return 0, fmt.Errorf("npy: a buffer of %d elements cannot hold a row of %d: %w", len(dst), r.cols, ErrShape)
	}
	if r.h.FortranOrder && r.rows > 1 && r.cols > 1 {
		return readWhole(r, dst[:n*r.cols], n)
	}
	out := dst[:n*r.cols]
	if native[T](r) {
		if k, err := io.ReadFull(r.r, asBytes(out)); err != nil {
			return 0, r.short(err, r.next, k)
		}
	} else {
		if r.buf == nil {
			r.buf = make([]byte, chunkBytes)
		}
		err := convert(r, out, r.next, r.buf, func(b []byte, _ int) (int, error) { return io.ReadFull(r.r, b) })
		if err != nil {
			return 0, err
		}
	}
	r.next += n
	return n, nil
}

// native reports whether r's rows are read straight into a []T: stored as
// T is in memory, little-endian, on a little-endian machine.
func native[T Elem](r *RowReader) bool {
	return hostLittle && !r.h.DType.BigEndian && !r.bf16 && sameType[T](r.h.DType)
}

// asBytes is the memory of x as bytes.
func asBytes[T Elem](x []T) []byte {
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x)*int(unsafe.Sizeof(z)))
}

// sameType reports whether d is stored as T is in memory (up to order).
func sameType[T Elem](d DType) bool {
	var z T
	switch any(z).(type) {
	case float32:
		return d.Kind == Float && d.Size == 4
	case float64:
		return d.Kind == Float && d.Size == 8
	case int32:
		return d.Kind == Int && d.Size == 4
	default:
		return d.Kind == Int && d.Size == 8
	}
}

// short builds the error of a read of the rows from row on that got k of
// their bytes.
func (r *RowReader) short(err error, row, k int) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("npy: the data of %s %s ends inside row %d of %d: %w",
			r.h.DType, shapeString(r.h.Shape), row+k/(r.cols*r.h.DType.Size), r.rows, ErrTruncated)
	}
	return fmt.Errorf("npy: reading row %d: %w", row, err)
}

// chunkBytes is the size of the staging buffer of converted reads.
const chunkBytes = 1 << 16

// convert fills out, the elements of the rows from row on, through stage:
// fill(b, off) reads the len(b) stored bytes at byte offset off from the
// first of those rows and says how many it got; they are put in host
// order and converted.
func convert[T Elem](r *RowReader, out []T, row int, stage []byte, fill func(b []byte, off int) (int, error)) error {
	var dec decoder[T]
	if r.bf16 {
		dec = bf16Decoder[T]()
	} else {
		var err error
		if dec, err = decoderFor[T](r.h.DType); err != nil {
			return err
		}
	}
	size := r.h.DType.Size
	per := len(stage) / size
	for done := 0; done < len(out); {
		m := min(per, len(out)-done)
		b := stage[:m*size]
		if k, err := fill(b, done*size); k < len(b) {
			return r.short(err, row, done*size+k)
		}
		if r.h.DType.BigEndian {
			swapBytes(b, size)
		}
		if err := dec(out[done:done+m], b, row*r.cols+done); err != nil {
			return err
		}
		done += m
	}
	return nil
}

// bf16Decoder converts little-endian bfloat16 bits: the value is the
// float32 whose top 16 bits they are, exact in float32 and float64.
func bf16Decoder[T Elem]() decoder[T] {
	return func(dst []T, src []byte, _ int) error {
		for i := range dst {
			dst[i] = T(math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16))
		}
		return nil
	}
}

// readWhole serves the rows of a Fortran-ordered array, reading it all on
// the first call.
func readWhole[T Elem](r *RowReader, out []T, n int) (int, error) {
	all, ok := r.whole.([]T)
	if !ok && r.whole != nil {
		return 0, fmt.Errorf("npy: the rows of a fortran_order array must be read as one element type: %w", ErrConversion)
	}
	if !ok {
		if r.bf16 {
			raw, err := ReadData[int64](r.r, Header{Major: r.h.Major, Minor: r.h.Minor, DType: DType{Kind: Uint, Size: 2, BigEndian: r.h.DType.BigEndian}, FortranOrder: true, Shape: r.h.Shape})
			if err != nil {
				return 0, err
			}
			all = make([]T, len(raw))
			for i, v := range raw {
				all[i] = T(math.Float32frombits(uint32(v) << 16))
			}
		} else {
			var err error
			if all, err = ReadData[T](r.r, r.h); err != nil {
				return 0, err
			}
		}
		r.whole = all
	}
	copy(out, all[r.next*r.cols:])
	r.next += n
	if r.next == r.rows {
		r.whole = nil
	}
	return n, nil
}

// RowWriter writes an array to w a block of rows at a time, with the
// header Write would write for the whole array: dtype '<f4', '<f8', '<i4'
// or '<i8' after T, and shape rows followed by the given trailing
// dimensions. Close checks that exactly the promised rows were written.
type RowWriter[T Elem] struct {
	w       io.Writer
	rows    int
	cols    int
	written int
	buf     []byte
}

// NewRowWriter writes the header of an array of rows rows (and the other
// dimensions dims) to w and returns the writer of its rows.
func NewRowWriter[T Elem](w io.Writer, rows int, dims ...int) (*RowWriter[T], error) {
	d := dtypeOf[T]()
	shape := append([]int{rows}, dims...)
	if _, err := checkShape(shape, d.Size); err != nil {
		return nil, err
	}
	cols := 1
	for _, v := range dims {
		cols *= v
	}
	if _, err := w.Write(headerBytes(d, shape)); err != nil {
		return nil, fmt.Errorf("npy: writing the header: %w", err)
	}
	return &RowWriter[T]{w: w, rows: rows, cols: cols}, nil
}

// Write writes whole rows (len(x) a multiple of the row length); writing
// more rows than the header promises is an error wrapping ErrShape.
func (rw *RowWriter[T]) Write(x []T) error {
	if rw.cols == 0 {
		if len(x) != 0 {
			return fmt.Errorf("npy: %d values for rows of no element: %w", len(x), ErrShape)
		}
		return nil
	}
	if len(x)%rw.cols != 0 {
		return fmt.Errorf("npy: %d values is not a whole number of rows of %d: %w", len(x), rw.cols, ErrShape)
	}
	if n := len(x) / rw.cols; rw.written+n > rw.rows {
		return fmt.Errorf("npy: writing rows %d to %d of an array of %d rows: %w", rw.written, rw.written+n-1, rw.rows, ErrShape)
	}
	size := dtypeOf[T]().Size
	if rw.buf == nil {
		rw.buf = make([]byte, chunkBytes)
	}
	per := chunkBytes / size
	for rest := x; len(rest) > 0; {
		k := min(per, len(rest))
		encode(rw.buf, rest[:k])
		if _, err := rw.w.Write(rw.buf[:k*size]); err != nil {
			return fmt.Errorf("npy: writing the data: %w", err)
		}
		rest = rest[k:]
	}
	rw.written += len(x) / rw.cols
	return nil
}

// Close reports an error wrapping ErrShape if fewer rows were written than
// the header promises. It does not close w.
func (rw *RowWriter[T]) Close() error {
	if rw.cols != 0 && rw.written != rw.rows {
		return fmt.Errorf("npy: %d rows written of the %d the header promises: %w", rw.written, rw.rows, ErrShape)
	}
	return nil
}

// CanReadAt reports whether ReadRowsAt works on r: its source is an
// io.ReaderAt (a file opened by OpenRows) and its rows are contiguous
// (not fortran_order).
func (r *RowReader) CanReadAt() bool {
	_, ok := r.r.(io.ReaderAt)
	return ok && r.c != nil && !(r.h.FortranOrder && r.rows > 1 && r.cols > 1)
}

// ReadRowsAt reads rows [row, row+n) into dst, converting as ReadRows
// does, with n = min(len(dst)/Cols(), Rows()−row), and returns n. It reads
// at an offset and does not move the reader, so several goroutines may
// call it at once, and ReadRows still reads where it was. It needs
// CanReadAt.
func ReadRowsAt[T Elem](r *RowReader, dst []T, row int) (int, error) {
	ra, ok := r.r.(io.ReaderAt)
	if !ok || !r.CanReadAt() {
		return 0, fmt.Errorf("npy: the rows of this reader cannot be read at an offset: %w", ErrShape)
	}
	if row < 0 || row > r.rows {
		return 0, fmt.Errorf("npy: row %d outside [0, %d]: %w", row, r.rows, ErrShape)
	}
	if row == r.rows {
		return 0, io.EOF
	}
	if r.cols == 0 {
		return r.rows - row, nil
	}
	n := min(len(dst)/r.cols, r.rows-row)
	if n == 0 {
		return 0, fmt.Errorf("npy: a buffer of %d elements cannot hold a row of %d: %w", len(dst), r.cols, ErrShape)
	}
	off := r.h.DataOffset + int64(row)*int64(r.cols)*int64(r.h.DType.Size)
	out := dst[:n*r.cols]
	if native[T](r) {
		b := asBytes(out)
		if k, err := ra.ReadAt(b, off); k < len(b) {
			return 0, r.short(err, row, k)
		}
		return n, nil
	}
	var stage [4096]byte
	err := convert(r, out, row, stage[:], func(b []byte, at int) (int, error) { return ra.ReadAt(b, off+int64(at)) })
	if err != nil {
		return 0, err
	}
	return n, nil
}
