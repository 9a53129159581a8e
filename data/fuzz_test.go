package data

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"
)

// checkSet fails unless s is a consistent set with finite features.
func checkSet(t *testing.T, s Set) {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, v := range s.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("X[%d] = %v", i, v)
		}
	}
}

func readFile(f *testing.F, name string) []byte {
	b, err := os.ReadFile(testdata(name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzCSV(f *testing.F) {
	f.Add(readFile(f, "iris_small.csv"), int8(-1), uint8(0))
	f.Add(readFile(f, "pm1.csv"), int8(0), uint8(0))
	f.Add([]byte("y,a,b\n1,2,3\n4,5\n"), int8(0), uint8(1))
	f.Add([]byte("\xef\xbb\xbf1,\"2\",3\n\n-1,1e5,0x1p3\n"), int8(1), uint8(2))
	f.Add([]byte("a;b\n1;NaN\n"), int8(0), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, label int8, mode uint8) {
		s, err := ReadCSV(bytes.NewReader(b), CSVOptions{Label: int(label), Header: HeaderMode(mode % 3)})
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error of an unknown kind: %v", err)
			}
			return
		}
		checkSet(t, s)
		if s.Rows == 0 || s.Cols == 0 || len(s.ClassNames) != s.Classes {
			t.Fatalf("%d×%d, %d classes, names %q", s.Rows, s.Cols, s.Classes, s.ClassNames)
		}
	})
}

func FuzzLibSVM(f *testing.F) {
	f.Add(readFile(f, "small.libsvm"), uint16(0))
	f.Add([]byte("1 1:1 2:2\n-1 3:4 # c\n"), uint16(5))
	f.Add([]byte("+1 2:3 2:4\n"), uint16(0))
	f.Add([]byte("2 70000:1\n"), uint16(0))
	f.Add(gz(f, []byte("1 1:1\n0 2:1\n")), uint16(2))
	f.Fuzz(func(t *testing.T, b []byte, features uint16) {
		s, err := ReadLibSVM(bytes.NewReader(b), LibSVMOptions{Features: int(features), MaxDense: 1 << 16})
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error of an unknown kind: %v", err)
			}
			return
		}
		checkSet(t, s)
		if s.Rows == 0 || s.Cols == 0 || s.Rows*s.Cols > 1<<16 || len(s.ClassNames) != s.Classes {
			t.Fatalf("%d×%d, %d classes, names %q", s.Rows, s.Cols, s.Classes, s.ClassNames)
		}
		if features > 0 && s.Cols != int(features) {
			t.Fatalf("%d columns, want %d", s.Cols, features)
		}
	})
}

func FuzzIDX(f *testing.F) {
	f.Add(readFile(f, "tiny-images-idx3-ubyte"), readFile(f, "tiny-labels-idx1-ubyte"))
	f.Add(readFile(f, "tiny-images-idx3-ubyte.gz"), readFile(f, "tiny-labels-idx1-ubyte.gz"))
	f.Add(readFile(f, "float-features-idx2-float"), readFile(f, "int-labels-idx1-int"))
	f.Add([]byte{0, 0, 0x0e, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0}, []byte{0, 0, 0x0b, 1, 0, 0, 0, 1, 0xff, 0xff})
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 7}, []byte{0, 0, 8, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, images, labels []byte) {
		s, err := ReadIDX(bytes.NewReader(images), bytes.NewReader(labels))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error of an unknown kind: %v", err)
			}
			return
		}
		checkSet(t, s)
	})
}
