package npy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

var sentinels = []error{ErrNotNPY, ErrVersion, ErrHeader, ErrDType, ErrShape, ErrTruncated, ErrTrailing, ErrConversion}

// FuzzRead checks that any input gives either a consistent array or an
// error of one of the package's kinds, never a panic, and that reading
// never allocates far more than the input holds.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.npy"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Add([]byte("\x93NUMPY\x01\x00"))
	f.Add(withHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 1, 2)}", make([]byte, 32)))
	f.Add(withHeader("{'descr': '<u8', 'fortran_order': False, 'shape': (1,)}", []byte{0, 0, 0, 0, 0, 0, 0, 0x80}))
	f.Add(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,)}", make([]byte, 8)))
	f.Add(withHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ((((1,),),),)}", nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var lens [4]int
		var errs [4]error
		check := func(i int, n int, h Header, err error) {
			errs[i] = err
			if err != nil {
				for _, s := range sentinels {
					if errors.Is(err, s) {
						return
					}
				}
				t.Fatalf("error of no known kind: %v", err)
			}
			if n != h.Len() || h.DataOffset < 10 || len(h.Shape) > MaxDims {
				t.Fatalf("read %d elements for header %v", n, h)
			}
			for _, d := range h.Shape {
				if d < 0 {
					t.Fatalf("negative dimension in %v", h)
				}
			}
			if int64(len(b)) < h.DataOffset+h.DataSize() {
				t.Fatalf("header %v promises more than the %d-byte input", h, len(b))
			}
			lens[i] = n
		}
		x0, h, err := Read[float32](bytes.NewReader(b))
		check(0, len(x0), h, err)
		x1, h, err := Read[float64](bytes.NewReader(b))
		check(1, len(x1), h, err)
		x2, h, err := Read[int32](bytes.NewReader(b))
		check(2, len(x2), h, err)
		x3, h, err := Read[int64](bytes.NewReader(b))
		check(3, len(x3), h, err)
		// float32 and float64 accept the same dtypes; so do the integer
		// types, except for range errors.
		if (errs[0] == nil) != (errs[1] == nil) {
			t.Fatalf("float32: %v, float64: %v", errs[0], errs[1])
		}
		if errs[3] != nil && errs[2] == nil {
			t.Fatalf("int32 read but int64 failed: %v", errs[3])
		}
	})
}
