package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xentlab/xent/npy"
)

func testdata(name string) string { return filepath.Join("testdata", name) }

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// same compares a set with the expected fields.
func same(t *testing.T, name string, s Set, rows, cols int, x []float32, y []int32, classes int, names []string) {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	if s.Rows != rows || s.Cols != cols || s.Classes != classes {
		t.Errorf("%s: %d×%d, %d classes; want %d×%d, %d classes", name, s.Rows, s.Cols, s.Classes, rows, cols, classes)
	}
	if !reflect.DeepEqual(s.X, x) {
		t.Errorf("%s: X = %v\nwant %v", name, s.X, x)
	}
	if !reflect.DeepEqual(s.Y, y) {
		t.Errorf("%s: Y = %v, want %v", name, s.Y, y)
	}
	if !reflect.DeepEqual(s.ClassNames, names) {
		t.Errorf("%s: ClassNames = %q, want %q", name, s.ClassNames, names)
	}
}

func TestCSV(t *testing.T) {
	iris, err := LoadCSV(testdata("iris_small.csv"), CSVOptions{Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "iris", iris, 6, 4, []float32{
		5.1, 3.5, 1.4, 0.2, 4.9, 3.0, 1.4, 0.2, 7.0, 3.2, 4.7, 1.4,
		6.4, 3.2, 4.5, 1.5, 6.3, 3.3, 6.0, 2.5, 5.8, 2.7, 5.1, 1.9,
	}, []int32{0, 0, 1, 1, 2, 2}, 3, []string{"setosa", "versicolor", "virginica"})

	byName, err := LoadCSV(testdata("iris_small.csv"), CSVOptions{LabelName: "species"})
	if err != nil || !reflect.DeepEqual(byName, iris) {
		t.Errorf("LabelName: %v %+v", err, byName)
	}

	pm, err := LoadCSV(testdata("pm1.csv"), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "pm1", pm, 3, 2, []float32{0.5, 2, 1.5, -0.3, 7, 0}, []int32{1, 0, 1}, 2, []string{"-1", "1"})

	// Numeric labels sort by value: 2 before 10; 1..10 become 0..9.
	s, err := ReadCSV(strings.NewReader("10,1\n2,2\n1.0,3\n2,4\n"), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "numeric order", s, 4, 1, []float32{1, 2, 3, 4}, []int32{2, 1, 0, 1}, 3, []string{"1", "2", "10"})

	// A test file with fewer classes keeps the training mapping.
	test, err := ReadCSV(strings.NewReader("1,5\n+1,6\n"), CSVOptions{Classes: pm.ClassNames})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "fixed classes", test, 2, 1, []float32{5, 6}, []int32{1, 1}, 2, []string{"-1", "1"})

	// Separator, comments, header forced, BOM, gzip, CRLF, spaces-only line.
	s, err = ReadCSV(strings.NewReader("\xef\xbb\xbf# comment\r\n0;1;a\r\n 4 ; 5;b\r\n   \r\n"), CSVOptions{Comma: ';', Comment: '#', Label: 2, Header: HasHeader})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "options", s, 1, 2, []float32{4, 5}, []int32{0}, 1, []string{"b"})
	s, err = ReadCSV(bytes.NewReader(gz(t, []byte("y,a\ncat,1\ndog,2\n"))), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "gzip", s, 2, 1, []float32{1, 2}, []int32{0, 1}, 2, []string{"cat", "dog"})
	// A first line with numbers only is data, unless Header says otherwise.
	s, err = ReadCSV(strings.NewReader("0,1,2\n1,3,4\n"), CSVOptions{})
	if err != nil || s.Rows != 2 {
		t.Errorf("no header detected: %v %+v", err, s)
	}
	s, err = ReadCSV(strings.NewReader("0,1,2\n1,3,4\n"), CSVOptions{Header: HasHeader})
	if err != nil || s.Rows != 1 {
		t.Errorf("HasHeader: %v %+v", err, s)
	}
	// Mixed numeric and text labels sort as text.
	s, err = ReadCSV(strings.NewReader("b,1\n10,2\n9,3\n"), CSVOptions{Header: NoHeader})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "mixed labels", s, 3, 1, []float32{1, 2, 3}, []int32{2, 0, 1}, 3, []string{"10", "9", "b"})
}

func TestCSVErrors(t *testing.T) {
	cases := []struct {
		name, input string
		opt         CSVOptions
		msg         string
	}{
		{"empty", "", CSVOptions{}, "empty input"},
		{"blank", "\n\n  \n", CSVOptions{}, "empty input"},
		{"header only", "y,a,b\n", CSVOptions{}, "no data after the header"},
		{"ragged", "1,2,3\n1,2\n", CSVOptions{}, "csv line 2: 2 fields, want 3 as on line 1"},
		{"ragged after header", "y,a\n1,2\n\n1,2,3\n", CSVOptions{}, "csv line 4: 3 fields, want 2 as on line 1"},
		{"bad number", "1,2,3\n0,x,4\n", CSVOptions{}, `csv line 2, column 3 (field 2): "x" is not a number`},
		{"bad number named", "y,a,b\n0,1,4\n0,2,?\n", CSVOptions{}, `csv line 3, column 5 (field 3 "b"): "?" is not a number`},
		{"empty value", "1,2,3\n0,,4\n", CSVOptions{}, "csv line 2, column 3 (field 2): empty value"},
		{"nan", "1,NaN,3\n", CSVOptions{Header: NoHeader}, `"NaN" is not finite`},
		{"inf", "1,2,-Inf\n", CSVOptions{Header: NoHeader}, `"-Inf" is not finite`},
		{"float32 range", "1,2,1e39\n", CSVOptions{}, `"1e39" is beyond the float32 range`},
		{"empty label", "1,2\n ,3\n", CSVOptions{}, "csv line 2: empty label"},
		{"label column", "1,2\n", CSVOptions{Label: 2}, "label column 2 does not exist: the line has 2 fields"},
		{"label column negative", "1,2\n", CSVOptions{Label: -3}, "label column -3 does not exist"},
		{"label name missing", "a,b\n1,2\n", CSVOptions{LabelName: "y"}, `no column named "y"`},
		{"label name no header", "a,b\n1,2\n", CSVOptions{LabelName: "a", Header: NoHeader}, "needs a header"},
		{"one column", "1\n2\n", CSVOptions{}, "1 field, want a label and at least one feature"},
		{"quote", "1,2\n3,\"4\n", CSVOptions{}, "csv line 2, column"},
		{"bare quote", "1,2\n3,4\"x\n", CSVOptions{}, "bare \""},
		{"unknown class", "1,2\n3,4\n", CSVOptions{Classes: []string{"1", "2"}}, `csv line 2: label "3" is not one of the 2 classes given (1, 2)`},
		{"duplicate class", "1,2\n", CSVOptions{Classes: []string{"1", "1.0"}}, "lists the value of"},
	}
	for _, c := range cases {
		_, err := ReadCSV(strings.NewReader(c.input), c.opt)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.msg)
			continue
		}
		if !errors.Is(err, ErrFormat) && !strings.Contains(c.name, "class") && c.name != "label name no header" {
			t.Errorf("%s: %v does not wrap ErrFormat", c.name, err)
		}
	}
	// Label in the first column by default: iris's text label in the
	// last column is then a bad feature, reported with its position.
	_, err := LoadCSV(testdata("iris_small.csv"), CSVOptions{})
	if err == nil || !strings.Contains(err.Error(), `iris_small.csv: data: csv line 2, column 17 (field 5 "species"): "setosa" is not a number`) {
		t.Errorf("iris with the default label column: %v", err)
	}
	in := gz(t, []byte("1,2\n3,4\n5,6\n"))
	if _, err := ReadCSV(bytes.NewReader(in[:len(in)-5]), CSVOptions{}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "truncated gzip data") {
		t.Errorf("truncated gzip: %v", err)
	}
	if _, err := LoadCSV(testdata("missing.csv"), CSVOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestLibSVM(t *testing.T) {
	s, err := LoadLibSVM(testdata("small.libsvm"), LibSVMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "small", s, 4, 3, []float32{0.5, 0, 2, 0, -1.25, 0, 0, 0, 0, 1, 1, 1}, []int32{1, 0, 1, 1}, 2, []string{"-1", "1"})

	// Features given, fixed classes, gzip, labels 1..3 and a decimal label.
	in := gz(t, []byte("3 2:1\n1.0 5:2\n"))
	s, err = ReadLibSVM(bytes.NewReader(in), LibSVMOptions{Features: 6, Classes: []string{"1", "2", "3"}})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "options", s, 2, 6, []float32{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0}, []int32{2, 0}, 3, []string{"1", "2", "3"})

	// No features at all is fine when Features is given.
	s, err = ReadLibSVM(strings.NewReader("1\n2\n"), LibSVMOptions{Features: 2})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "all zero", s, 2, 2, []float32{0, 0, 0, 0}, []int32{0, 1}, 2, []string{"1", "2"})
	// No newline at the end; tabs.
	s, err = ReadLibSVM(strings.NewReader("2\t1:4\t2:5"), LibSVMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "no final newline", s, 1, 2, []float32{4, 5}, []int32{0}, 1, []string{"2"})
}

func TestLibSVMErrors(t *testing.T) {
	cases := []struct {
		name, input string
		opt         LibSVMOptions
		msg         string
	}{
		{"empty", "", LibSVMOptions{}, "empty input"},
		{"comments only", "# x\n\n", LibSVMOptions{}, "empty input"},
		{"index 0", "1 0:1\n", LibSVMOptions{}, "line 1: index 0: indices start at 1"},
		{"repeated", "# c\n1 2:1 2:3\n", LibSVMOptions{}, "line 2: index 2 is repeated"},
		{"order", "1 1:1\n\n1 3:1 2:1\n", LibSVMOptions{}, "line 3: index 2 after 3: indices must increase"},
		{"not integer", "1 a:1\n", LibSVMOptions{}, `line 1: index "a" is not a positive integer`},
		{"negative index", "1 -1:1\n", LibSVMOptions{}, `index "-1" is not a positive integer`},
		{"plus index", "1 +1:1\n", LibSVMOptions{}, `index "+1" is not a positive integer`},
		{"huge index", "1 99999999999:1\n", LibSVMOptions{}, `index "99999999999" is too large`},
		{"bad value", "1 1:1\n1 2:x\n", LibSVMOptions{}, `line 2, index 2: "x" is not a number`},
		{"empty value", "1 2:\n", LibSVMOptions{}, "line 1, index 2: empty value"},
		{"nan value", "1 2:nan\n", LibSVMOptions{}, `"nan" is not finite`},
		{"bad label", "1 1:1\nx 1:1\n", LibSVMOptions{}, `libsvm line 2: label "x" is not a finite number`},
		{"multilabel", "1,2 1:1\n", LibSVMOptions{}, `label "1,2" is not a finite number`},
		{"no label", "1:2 3:4\n", LibSVMOptions{}, `line 1: starts with "1:2", want a label first`},
		{"qid", "1 qid:3 1:1\n", LibSVMOptions{}, "qid (ranking data) is not supported"},
		{"no colon", "1 2\n", LibSVMOptions{}, `"2" is not index:value`},
		{"exceeds features", "1 3:1\n", LibSVMOptions{Features: 2}, "line 1: index 3 exceeds the 2 features"},
		{"no features", "1\n2\n", LibSVMOptions{}, "no features in any line"},
		{"too dense", "1 1000000:1\n1 1:1\n", LibSVMOptions{MaxDense: 1000000}, "2 rows × 1000000 features exceeds MaxDense = 1000000"},
		{"unknown class", "1 1:1\n5 1:1\n", LibSVMOptions{Classes: []string{"1", "-1"}}, `libsvm line 2: label "5" is not one of the 2 classes`},
	}
	for _, c := range cases {
		_, err := ReadLibSVM(strings.NewReader(c.input), c.opt)
		if err == nil || !strings.Contains(err.Error(), c.msg) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.msg)
		}
	}
	if _, err := ReadLibSVM(strings.NewReader("1 1:1\n"), LibSVMOptions{Features: -1}); err == nil {
		t.Error("negative Features accepted")
	}
}

func TestIDX(t *testing.T) {
	want := []float32{0, 1, float32(51) / 255, float32(102) / 255, 1, 0, 0, 1,
		float32(1) / 255, float32(2) / 255, float32(3) / 255, float32(4) / 255}
	for _, suffix := range []string{"", ".gz"} {
		s, err := LoadIDX(testdata("tiny-images-idx3-ubyte"+suffix), testdata("tiny-labels-idx1-ubyte"+suffix))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "tiny"+suffix, s, 3, 4, want, []int32{2, 0, 1}, 3, nil)
	}
	s, err := LoadIDX(testdata("float-features-idx2-float"), testdata("int-labels-idx1-int"))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "float", s, 2, 3, []float32{0.5, -1, 2, 3, 0.25, -0.125}, []int32{4, 1}, 5, nil)

	// Other element types, built here: signed bytes, shorts, doubles.
	hdr := func(typ byte, dims ...uint32) []byte {
		b := []byte{0, 0, typ, byte(len(dims))}
		for _, d := range dims {
			b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
		}
		return b
	}
	images := append(hdr(0x0B, 2, 1), 0xff, 0xfe, 0x01, 0x00) // shorts -2, 256
	labels := append(hdr(0x09, 2), 3, 0)
	s, err = ReadIDX(bytes.NewReader(images), bytes.NewReader(labels))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "short", s, 2, 1, []float32{-2, 256}, []int32{3, 0}, 4, nil)
	images = append(hdr(0x09, 1, 2), 0x80, 0x7f)
	labels = append(hdr(0x0B, 1), 0, 7)
	s, err = ReadIDX(bytes.NewReader(images), bytes.NewReader(labels))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "signed byte", s, 1, 2, []float32{-128, 127}, []int32{7}, 8, nil)
	images = append(hdr(0x0E, 1, 1), 0xbf, 0xf8, 0, 0, 0, 0, 0, 0) // double -1.5
	labels = append(hdr(0x08, 1), 0)
	s, err = ReadIDX(bytes.NewReader(images), bytes.NewReader(labels))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "double", s, 1, 1, []float32{-1.5}, []int32{0}, 1, nil)
	// Zero examples, or examples without features: refused, as by the
	// CSV and LibSVM readers.
	if _, err = ReadIDX(bytes.NewReader(hdr(0x08, 0, 28, 28)), bytes.NewReader(hdr(0x08, 0))); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "no examples") {
		t.Errorf("zero examples: %v", err)
	}
	if _, err = ReadIDX(bytes.NewReader(hdr(0x08, 2, 0)), bytes.NewReader(append(hdr(0x08, 2), 0, 1))); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "no features") {
		t.Errorf("zero features: %v", err)
	}
}

func TestIDXErrors(t *testing.T) {
	hdr := func(typ byte, dims ...uint32) []byte {
		b := []byte{0, 0, typ, byte(len(dims))}
		for _, d := range dims {
			b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
		}
		return b
	}
	okImages := append(hdr(0x08, 2, 2), 1, 2, 3, 4)
	okLabels := append(hdr(0x08, 2), 0, 1)
	tinyGz, _ := os.ReadFile(testdata("tiny-images-idx3-ubyte.gz"))
	corrupt := bytes.Clone(tinyGz)
	corrupt[len(corrupt)-6] ^= 0xff // inside the CRC-32
	cases := []struct {
		name           string
		images, labels []byte
		msg            string
	}{
		{"empty images", nil, okLabels, "idx images: empty input"},
		{"short magic", []byte{0, 0}, okLabels, "ends after 2 bytes"},
		{"bad magic", []byte("P5\n28 28\n"), okLabels, "not an idx file: it starts with 50 35 0a 32"},
		{"type", hdr(0x07, 2), okLabels, "unknown idx element type 0x07"},
		{"no dims", hdr(0x08), okLabels, "0 dimensions"},
		{"short dims", hdr(0x08, 2, 2)[:9], okLabels, "idx dimensions: expected 8 bytes, found 5"},
		{"short data", append(hdr(0x08, 2, 2), 1, 2, 3), okLabels, "idx images data: expected 4 bytes, found 3"},
		{"huge", append(hdr(0x08, 100000, 100000), 1, 2, 3), okLabels, "expected 10000000000 bytes, found 3"},
		{"overflow", hdr(0x0E, 1<<31, 1<<31, 1<<31), okLabels, "overflow"},
		{"1-D images", append(hdr(0x08, 2), 1, 2), okLabels, "want at least 2"},
		{"trailing", append(bytes.Clone(okImages), 9), okLabels, "idx images: unexpected data after the end"},
		{"nan", append(hdr(0x0D, 1, 1), 0x7f, 0xc0, 0, 0), okLabels, "row 0, column 0: value NaN is not a finite float32"},
		{"double overflow", append(hdr(0x0E, 1, 1), 0x7f, 0xe0, 0, 0, 0, 0, 0, 0), okLabels, "is not a finite float32"},
		{"2-D labels", okImages, append(hdr(0x08, 2, 1), 0, 1), "idx labels: 2 dimensions [2 1], want 1"},
		{"float labels", okImages, append(hdr(0x0D, 1), 0, 0, 0, 0), "want an integer type"},
		{"negative label", okImages, append(hdr(0x09, 2), 1, 0xff), "label -1 of row 1 is negative"},
		{"count", okImages, append(hdr(0x08, 3), 0, 1, 2), "2 feature rows but 3 labels"},
		{"short labels", okImages, append(hdr(0x08, 2), 0), "idx labels data: expected 2 bytes, found 1"},
		{"corrupt gzip", corrupt, okLabels, "gzip"},
		{"truncated gzip", tinyGz[:len(tinyGz)-10], okLabels, "truncated gzip data"},
		{"gzip header", []byte{0x1f, 0x8b, 0, 0}, okLabels, "gzip header"},
	}
	for _, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.images), bytes.NewReader(c.labels))
		if err == nil || !strings.Contains(err.Error(), c.msg) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.msg)
		}
	}
	_, err := LoadIDX(testdata("tiny-images-idx3-ubyte"), testdata("tiny-images-idx3-ubyte"))
	if err == nil || !strings.Contains(err.Error(), "tiny-images-idx3-ubyte: data: idx labels: 3 dimensions") {
		t.Errorf("labels path in the error: %v", err)
	}
	if _, err := LoadIDX(testdata("nope"), testdata("tiny-labels-idx1-ubyte")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestNPY(t *testing.T) {
	s, err := LoadNPY(testdata("features.npy"), testdata("labels.npy"))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "npy", s, 3, 2, []float32{0.5, 1, 1.5, 2, 2.5, 3}, []int32{1, 0, 3}, 4, nil)

	enc := func(write func(b *bytes.Buffer) error) *bytes.Reader {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		return bytes.NewReader(b.Bytes())
	}
	f := func(x []float32, shape ...int) *bytes.Reader {
		return enc(func(b *bytes.Buffer) error { return npy.Write(b, x, shape...) })
	}
	l := func(y []int64, shape ...int) *bytes.Reader {
		return enc(func(b *bytes.Buffer) error { return npy.Write(b, y, shape...) })
	}
	// 3-D features are flattened; [rows, 1] labels are accepted.
	s, err = ReadNPY(f([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2), l([]int64{1, 1}, 2, 1))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "3-D", s, 2, 4, []float32{1, 2, 3, 4, 5, 6, 7, 8}, []int32{1, 1}, 2, nil)

	nan := float32(0)
	nan = nan / nan
	cases := []struct {
		name   string
		f, l   *bytes.Reader
		msg    string
		format bool
	}{
		{"1-D features", f([]float32{1, 2}, 2), l([]int64{0, 1}, 2), "features have shape [2], want [rows, cols]", true},
		{"2-D labels", f([]float32{1, 2}, 2, 1), l([]int64{0, 1}, 1, 2), "labels have shape [1 2]", true},
		{"count", f([]float32{1, 2}, 2, 1), l([]int64{0}, 1), "2 feature rows but 1 labels", true},
		{"negative", f([]float32{1, 2}, 2, 1), l([]int64{0, -2}, 2), "row 1 has label -2", true},
		{"nan", f([]float32{1, 2, nan, 4}, 2, 2), l([]int64{0, 1}, 2), "row 1, column 0 is NaN", true},
		{"float labels", f([]float32{1, 2}, 2, 1), f([]float32{0, 1}, 2), "npy labels: npy: cannot read <f4", false},
		{"label range", f([]float32{1, 2}, 2, 1), l([]int64{0, 1 << 40}, 2), "outside the range of int32", false},
		{"not npy", bytes.NewReader([]byte("1,2\n")), l([]int64{0}, 1), "npy features: npy: the input starts with", false},
		{"no rows", f([]float32{}, 0, 3), l([]int64{}, 0), "no examples", true},
		{"no columns", f([]float32{}, 2, 0), l([]int64{0, 1}, 2), "no features", true},
	}
	for _, c := range cases {
		_, err := ReadNPY(c.f, c.l)
		if err == nil || !strings.Contains(err.Error(), c.msg) || c.format != errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.msg)
		}
	}
	if _, err := LoadNPY(testdata("features.npy"), testdata("features.npy")); !errors.Is(err, npy.ErrConversion) {
		t.Errorf("float labels file: %v", err)
	}
	if _, err := LoadNPY(testdata("labels.npy"), testdata("labels.npy")); err == nil {
		t.Error("1-D features file accepted")
	}
	if _, err := LoadNPY(testdata("missing.npy"), testdata("labels.npy")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
