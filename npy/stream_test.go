package npy

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// readAllRows reads every row through ReadRows with a buffer of block rows.
func readAllRows[T Elem](t *testing.T, r *RowReader, block int) []T {
	t.Helper()
	buf := make([]T, max(1, block*r.Cols()))
	var all []T
	for {
		n, err := ReadRows(r, buf)
		if err == io.EOF {
			if n != 0 {
				t.Fatalf("io.EOF with %d rows", n)
			}
			return all
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, buf[:n*r.Cols()]...)
	}
}

func sameBits32(a, b []float32) int {
	if len(a) != len(b) {
		return -2
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return i
		}
	}
	return -1
}

// TestFloat16Fixture decodes a float16 array written by NumPy and compares
// with the float32 values NumPy converts it to.
func TestFloat16Fixture(t *testing.T) {
	ref, _, err := ReadFile[float32]("testdata/f2_rows_ref.npy")
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range []int{1, 2, 5, 100} {
		r, err := OpenRows("testdata/f2_rows.npy")
		if err != nil {
			t.Fatal(err)
		}
		if r.Rows() != 5 || r.Cols() != 9 || !r.IsFloat() {
			t.Fatalf("rows %d cols %d float %v", r.Rows(), r.Cols(), r.IsFloat())
		}
		got := readAllRows[float32](t, r, block)
		r.Close()
		if i := sameBits32(got, ref); i != -1 {
			t.Fatalf("block %d: element %d: got %v, NumPy %v", block, i, got[max(i, 0)], ref[max(i, 0)])
		}
	}
}

// TestBFloat16Fixtures decodes the bfloat16 bits PyTorch wrote, in each of
// the forms they are saved in, and compares with PyTorch's float32 values.
func TestBFloat16Fixtures(t *testing.T) {
	ref, _, err := ReadFile[float32]("testdata/bf16_ref.npy")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bf16_i2.npy", "bf16_u2.npy", "bf16_v2.npy", "bf16_be_u2.npy"} {
		for _, block := range []int{1, 4, 6} {
			r, err := OpenRows(filepath.Join("testdata", name), BFloat16())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := readAllRows[float32](t, r, block)
			r.Close()
			if i := sameBits32(got, ref); i != -1 {
				t.Fatalf("%s, block %d: element %d: got %v, PyTorch %v", name, block, i, got[max(i, 0)], ref[max(i, 0)])
			}
		}
		// float64 holds the same values.
		r, _ := OpenRows(filepath.Join("testdata", name), BFloat16())
		got64 := readAllRows[float64](t, r, 2)
		r.Close()
		for i, v := range got64 {
			if float32(v) != ref[i] && !(v != v && ref[i] != ref[i]) {
				t.Fatalf("%s as float64: element %d: %v, want %v", name, i, v, ref[i])
			}
		}
	}
	// Raw 2-byte data needs the option; float16 must not be read as bfloat16.
	if _, err := OpenRows("testdata/bf16_v2.npy"); !errors.Is(err, ErrConversion) || !strings.Contains(err.Error(), "bfloat16") {
		t.Errorf("|V2 without the option: err = %v", err)
	}
	if _, err := OpenRows("testdata/f2_rows.npy", BFloat16()); !errors.Is(err, ErrConversion) {
		t.Errorf("<f2 as bfloat16: err = %v", err)
	}
	if _, _, err := ReadFile[float32]("testdata/bf16_v2.npy"); !errors.Is(err, ErrDType) {
		t.Errorf("ReadFile of |V2: err = %v, want ErrDType", err)
	}
}

// TestRowsMatchReadFile reads every fixture by rows, in blocks of every
// size, and compares with ReadFile.
func TestRowsMatchReadFile(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.npy")
	tried := 0
	for _, p := range files {
		want, h, err := ReadFile[float64](p)
		if err != nil || len(h.Shape) == 0 {
			continue
		}
		tried++
		for block := 1; block <= h.Shape[0]+1; block++ {
			r, err := OpenRows(p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			got := readAllRows[float64](t, r, block)
			r.Close()
			if len(got) != len(want) {
				t.Fatalf("%s block %d: %d values, want %d", p, block, len(got), len(want))
			}
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("%s block %d: element %d = %v, want %v", p, block, i, got[i], want[i])
				}
			}
		}
	}
	if tried < 8 {
		t.Fatalf("only %d fixtures read", tried)
	}
}

// TestNativeAndConverted writes arrays of each element type and checks the
// direct read (same type, little-endian) against converted reads.
func TestNativeAndConverted(t *testing.T) {
	x32 := []float32{1, -2, 3.5, float32(math.Inf(-1)), 5, 6}
	var b bytes.Buffer
	if err := Write(&b, x32, 3, 2); err != nil {
		t.Fatal(err)
	}
	r, err := NewRowReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got := readAllRows[float32](t, r, 2); sameBits32(got, x32) != -1 {
		t.Fatalf("float32 rows %v, want %v", got, x32)
	}
	r, _ = NewRowReader(bytes.NewReader(b.Bytes()))
	if got := readAllRows[float64](t, r, 1); len(got) != 6 || got[3] != math.Inf(-1) || got[2] != 3.5 {
		t.Fatalf("float64 rows %v", got)
	}
	labels := []int64{0, 7, -100, 1 << 40}
	b.Reset()
	Write(&b, labels, 4)
	r, _ = NewRowReader(bytes.NewReader(b.Bytes()))
	if got := readAllRows[int64](t, r, 3); len(got) != 4 || got[3] != 1<<40 || got[2] != -100 {
		t.Fatalf("int64 rows %v", got)
	}
	r, _ = NewRowReader(bytes.NewReader(b.Bytes()))
	buf := make([]int32, 4)
	if _, err := ReadRows(r, buf); !errors.Is(err, ErrConversion) || !strings.Contains(err.Error(), "element 3") {
		t.Fatalf("2⁴⁰ as int32: err = %v", err)
	}
}

func TestRowReaderErrors(t *testing.T) {
	var b bytes.Buffer
	Write(&b, make([]float32, 4*3), 4, 3)
	full := b.Bytes()

	// A stream cut inside row 2.
	cut := full[:len(full)-12-5]
	r, err := NewRowReader(bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 3)
	for i := 0; i < 2; i++ {
		if _, err := ReadRows(r, buf); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	if _, err := ReadRows(r, buf); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "row 2 of 4") {
		t.Fatalf("truncated: err = %v", err)
	}
	// The same through the converting path (float64) in one block.
	r, _ = NewRowReader(bytes.NewReader(cut))
	if _, err := ReadRows(r, make([]float64, 12)); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "row 2 of 4") {
		t.Fatalf("truncated, converted: err = %v", err)
	}

	// Files: a short or long file fails at open.
	dir := t.TempDir()
	short := filepath.Join(dir, "short.npy")
	os.WriteFile(short, cut, 0o644)
	if _, err := OpenRows(short); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), short) {
		t.Errorf("short file: err = %v", err)
	}
	long := filepath.Join(dir, "long.npy")
	os.WriteFile(long, append(append([]byte{}, full...), 0), 0o644)
	if _, err := OpenRows(long); !errors.Is(err, ErrTrailing) {
		t.Errorf("long file: err = %v", err)
	}
	if _, err := OpenRows(filepath.Join(dir, "missing.npy")); err == nil {
		t.Error("no error for a missing file")
	}

	// A buffer smaller than a row.
	r, _ = NewRowReader(bytes.NewReader(full))
	if _, err := ReadRows(r, make([]float32, 2)); !errors.Is(err, ErrShape) {
		t.Errorf("small buffer: err = %v", err)
	}
	// A 0-d scalar has no rows.
	b.Reset()
	b.Write(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': ()}", make([]byte, 8)))
	if _, err := NewRowReader(&b); !errors.Is(err, ErrShape) {
		t.Errorf("scalar: err = %v", err)
	}
}

func TestEmptyAndZeroCols(t *testing.T) {
	var b bytes.Buffer
	Write(&b, []float32{}, 0, 3)
	r, err := NewRowReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ReadRows(r, make([]float32, 3)); n != 0 || err != io.EOF {
		t.Fatalf("empty: %d, %v", n, err)
	}
	b.Reset()
	Write(&b, []float32{}, 5, 0)
	r, _ = NewRowReader(&b)
	if n, err := ReadRows(r, []float32{}); n != 5 || err != nil {
		t.Fatalf("zero columns: %d, %v", n, err)
	}
	if _, err := ReadRows(r, []float32{}); err != io.EOF {
		t.Fatalf("zero columns, second read: %v", err)
	}
}

// TestRowReaderBoundedMemory streams 64 MiB through a 256 KiB window and
// checks that the reader allocated a tiny fraction of that.
func TestRowReaderBoundedMemory(t *testing.T) {
	const rows, cols = 4096, 4096
	h := headerBytes(Float32, []int{rows, cols})
	src := io.MultiReader(bytes.NewReader(h), io.LimitReader(zeros{}, rows*cols*4))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := NewRowReader(src)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 16*cols)
	total := 0
	for {
		n, err := ReadRows(r, buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	runtime.ReadMemStats(&after)
	if total != rows {
		t.Fatalf("%d rows, want %d", total, rows)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("allocated %d bytes to stream 64 MiB through a 256 KiB window", alloc)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// FuzzRowReader checks that reading any input by rows gives what Read
// gives, or an error of a known kind, never a panic.
func FuzzRowReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.npy"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(1), false)
		f.Add(b[:len(b)-1], uint8(3), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, block uint8, bf16 bool) {
		var opts []RowOption
		if bf16 {
			opts = append(opts, BFloat16())
		}
		r, err := NewRowReader(bytes.NewReader(b), opts...)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error of no known kind: %v", err)
		}
		if r.Cols() == 0 || r.Rows()*r.Cols() > 1<<20 {
			return
		}
		buf := make([]float64, (int(block)%5+1)*r.Cols())
		var got []float64
		for {
			n, err := ReadRows(r, buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				for _, s := range sentinels {
					if errors.Is(err, s) {
						return
					}
				}
				t.Fatalf("error of no known kind: %v", err)
			}
			got = append(got, buf[:n*r.Cols()]...)
		}
		if bf16 {
			return
		}
		want, _, err := Read[float64](bytes.NewReader(b))
		if err != nil {
			t.Fatalf("rows read, but Read fails: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d values by rows, %d by Read", len(got), len(want))
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("element %d: %v by rows, %v by Read", i, got[i], want[i])
			}
		}
	})
}

func TestRowWriter(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	var b bytes.Buffer
	w, err := NewRowWriter[float32](&b, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ErrShape) {
		t.Fatalf("close before the rows: %v", err)
	}
	if err := w.Write(x[:2]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(x[2:3]); !errors.Is(err, ErrShape) {
		t.Fatalf("half a row: %v", err)
	}
	if err := w.Write(x[2:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(x[:2]); !errors.Is(err, ErrShape) {
		t.Fatalf("a row too many: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	Write(&want, x, 4, 2)
	if !bytes.Equal(b.Bytes(), want.Bytes()) {
		t.Fatalf("RowWriter wrote\n%q\nWrite writes\n%q", b.Bytes(), want.Bytes())
	}
}

func TestReadRowsAt(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.npy")
	tried := 0
	for _, p := range files {
		want, h, err := ReadFile[float64](p)
		if err != nil || len(h.Shape) == 0 {
			continue
		}
		r, err := OpenRows(p)
		if err != nil {
			t.Fatal(err)
		}
		if !r.CanReadAt() {
			if !h.FortranOrder {
				t.Errorf("%s: cannot read at an offset", p)
			}
			r.Close()
			continue
		}
		tried++
		for row := 0; row < r.Rows(); row++ {
			for n := 1; row+n <= r.Rows()+1; n++ {
				buf := make([]float64, max(1, n*r.Cols()))
				k, err := ReadRowsAt(r, buf, row)
				if err != nil {
					t.Fatalf("%s rows %d+%d: %v", p, row, n, err)
				}
				if k != min(n, r.Rows()-row) {
					t.Fatalf("%s rows %d+%d: read %d", p, row, n, k)
				}
				for i := 0; i < k*r.Cols(); i++ {
					g, w := buf[i], want[row*r.Cols()+i]
					if math.Float64bits(g) != math.Float64bits(w) && !(g != g && w != w) {
						t.Fatalf("%s row %d: element %d = %v, want %v", p, row, i, g, w)
					}
				}
			}
		}
		// ReadRows is not moved by ReadRowsAt.
		if r.Row() != 0 {
			t.Fatalf("%s: ReadRowsAt moved the reader", p)
		}
		r.Close()
	}
	if tried < 8 {
		t.Fatalf("only %d fixtures read", tried)
	}
	// A reader of a stream cannot; one of bfloat16 bits can.
	var b bytes.Buffer
	Write(&b, []float32{1, 2}, 2)
	r, _ := NewRowReader(&b)
	if r.CanReadAt() {
		t.Error("a stream reads at an offset")
	}
	if _, err := ReadRowsAt(r, make([]float32, 2), 0); !errors.Is(err, ErrShape) {
		t.Errorf("ReadRowsAt on a stream: %v", err)
	}
	ref, _, _ := ReadFile[float32]("testdata/bf16_ref.npy")
	br, _ := OpenRows("testdata/bf16_be_u2.npy", BFloat16())
	defer br.Close()
	got := make([]float32, 7)
	if _, err := ReadRowsAt(br, got, 3); err != nil || sameBits32(got, ref[21:28]) != -1 {
		t.Errorf("bfloat16 row 3: %v %v, want %v", got, err, ref[21:28])
	}
}
