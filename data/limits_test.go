package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes f allocates (across all goroutines).
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// hugeField is a reader of prefix, then n bytes of c, then suffix,
// without holding them.
func hugeField(prefix string, c byte, n int, suffix string) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), io.LimitReader(repeatByte(c), int64(n)), strings.NewReader(suffix))
}

type repeatByte byte

func (r repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestCSVHugeField: one 64 MB field is refused after reading the line
// limit, the memory used stays near the limit, and the error quotes a
// few dozen characters of the field, not all of it.
func TestCSVHugeField(t *testing.T) {
	const n = 64 << 20
	var err error
	used := allocated(func() {
		_, err = ReadCSV(hugeField("label,x\n1,", '7', n, "\n"), CSVOptions{})
	})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("err = %.200v", err)
	}
	if len(err.Error()) > 200 {
		t.Errorf("error of %d bytes", len(err.Error()))
	}
	// encoding/csv grows its line buffer by 1.25× steps: about 5× the
	// line limit in all, whatever the field's size (unbounded before).
	if used > 10*DefaultMaxLine {
		t.Errorf("reading allocated %d MB for a %d MB field", used>>20, n>>20)
	}
	// Within the limit, a bad long field is quoted short.
	_, err = ReadCSV(hugeField("label,x\n1,", 'z', 1<<20, "\n"), CSVOptions{})
	if !errors.Is(err, ErrFormat) || len(err.Error()) > 200 || !strings.Contains(err.Error(), "bytes)") {
		t.Errorf("a bad 1 MB field: %.300v", err)
	}
	// A smaller MaxLine applies.
	_, err = ReadCSV(strings.NewReader("a,b\n1,"+strings.Repeat("1", 100)+"\n"), CSVOptions{MaxLine: 50})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "line 2: longer than 50 bytes") {
		t.Errorf("MaxLine 50: %v", err)
	}
	// And lines up to the limit are fine.
	s, err := ReadCSV(strings.NewReader("a,b\n1,"+strings.Repeat("0", 40)+"\n"), CSVOptions{MaxLine: 50})
	if err != nil || s.Rows != 1 {
		t.Errorf("a line within MaxLine: %v", err)
	}
}

// TestLibSVMGzipOfSpaces: a small gzip file that expands to one line of
// hundreds of megabytes of spaces is refused at the line limit, without
// holding the line.
func TestLibSVMGzipOfSpaces(t *testing.T) {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	io.Copy(zw, hugeField("1 1:0.5\n1", ' ', 256<<20, " 2:1\n"))
	zw.Close()
	if z.Len() > 2<<20 {
		t.Fatalf("the gzip input is %d bytes", z.Len())
	}
	var err error
	used := allocated(func() {
		_, err = ReadLibSVM(bytes.NewReader(z.Bytes()), LibSVMOptions{})
	})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "line 2: longer than") {
		t.Errorf("err = %.200v", err)
	}
	if used > 6*DefaultMaxLine {
		t.Errorf("reading allocated %d MB", used>>20)
	}
	// A long bad token is quoted short.
	_, err = ReadLibSVM(strings.NewReader("1 "+strings.Repeat("x", 1<<20)+"\n"), LibSVMOptions{})
	if !errors.Is(err, ErrFormat) || len(err.Error()) > 200 {
		t.Errorf("a bad 1 MB token: %.300v", err)
	}
}

// TestDenseBoundWhileReading: a file with more values than MaxDense is
// refused as the rows arrive, not after they are all held.
func TestDenseBoundWhileReading(t *testing.T) {
	row := "1," + strings.Repeat("0.5,", 9) + "0.5\n"
	_, err := ReadCSV(strings.NewReader("y"+strings.Repeat(",x", 10)+"\n"+strings.Repeat(row, 100)), CSVOptions{MaxDense: 500})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "MaxDense") || !strings.Contains(err.Error(), "line 52") {
		t.Errorf("csv: %v", err)
	}
	_, err = ReadLibSVM(strings.NewReader(strings.Repeat("1 10:1\n", 100)), LibSVMOptions{MaxDense: 500})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "MaxDense") || !strings.Contains(err.Error(), "line 51") {
		t.Errorf("libsvm: %v", err)
	}
}
