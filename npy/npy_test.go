package npy

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// fixture reads a file of testdata/, written by make_fixtures.py exactly as
// NumPy writes it.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNumPyFixtures(t *testing.T) {
	cases := []struct {
		file    string
		dtype   string
		shape   []int
		fortran bool
		version int
		want    []float64 // in C order
	}{
		{"f4_vec.npy", "<f4", []int{3}, false, 1, []float64{1.5, -2, 3.25}},
		{"f8_2x3.npy", "<f8", []int{2, 3}, false, 1, []float64{0, 0.5, 1, 1.5, 2, 2.5}},
		{"i8_labels.npy", "<i8", []int{4}, false, 1, []float64{0, 2, 1, 9}},
		{"i4_labels.npy", "<i4", []int{3}, false, 1, []float64{7, 0, 3}},
		{"u1_2x2.npy", "|u1", []int{2, 2}, false, 1, []float64{0, 255, 128, 1}},
		{"b1_vec.npy", "|b1", []int{3}, false, 1, []float64{1, 0, 1}},
		{"i2_vec.npy", "<i2", []int{2}, false, 1, []float64{-1, 300}},
		{"u2_vec.npy", "<u2", []int{2}, false, 1, []float64{65535, 7}},
		{"f2_vec.npy", "<f2", []int{3}, false, 1, []float64{1, -2.5, 65504}},
		{"f4_fortran_2x3.npy", "<f4", []int{2, 3}, true, 1, []float64{1, 2, 3, 4, 5, 6}},
		{"i4_fortran_2x3x2.npy", "<i4", []int{2, 3, 2}, true, 1, []float64{
			0, 1, 10, 11, 20, 21,
			100, 101, 110, 111, 120, 121}},
		{"be_f8.npy", ">f8", []int{2}, false, 1, []float64{1, -0.5}},
		{"be_i4.npy", ">i4", []int{2}, false, 1, []float64{-2, 65536}},
		{"scalar_f8.npy", "<f8", []int{}, false, 1, []float64{3.5}},
		{"empty_f4_0x3.npy", "<f4", []int{0, 3}, false, 1, []float64{}},
		{"v2_f4.npy", "<f4", []int{2}, false, 2, []float64{0.25, 8}},
		{"v3_f4.npy", "<f4", []int{2}, false, 3, []float64{0.25, 8}},
		{"py2_i8.npy", "<i8", []int{2}, false, 1, []float64{5, -6}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw := fixture(t, c.file)
			x, h, err := Read[float64](bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if h.DType.String() != c.dtype || !reflect.DeepEqual(h.Shape, c.shape) ||
				h.FortranOrder != c.fortran || h.Major != c.version || h.Minor != 0 {
				t.Fatalf("header %v, want %s %v fortran=%v v%d.0", h, c.dtype, c.shape, c.fortran, c.version)
			}
			if h.DataOffset+h.DataSize() != int64(len(raw)) {
				t.Errorf("DataOffset %d + DataSize %d != file size %d", h.DataOffset, h.DataSize(), len(raw))
			}
			if !reflect.DeepEqual(x, c.want) {
				t.Errorf("data %v, want %v", x, c.want)
			}
			// The same through the file functions.
			path := filepath.Join("testdata", c.file)
			fh, err := ReadFileHeader(path)
			if err != nil || !reflect.DeepEqual(fh, h) {
				t.Errorf("ReadFileHeader = %v, %v; want %v", fh, err, h)
			}
			y, _, err := ReadFile[float64](path)
			if err != nil || !reflect.DeepEqual(y, c.want) {
				t.Errorf("ReadFile = %v, %v", y, err)
			}
			// Integer data also reads as integers, float data as float32.
			if h.DType.Kind != Float {
				want := make([]int64, len(c.want))
				for i, v := range c.want {
					want[i] = int64(v)
				}
				got, _, err := Read[int64](bytes.NewReader(raw))
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("Read[int64] = %v, %v; want %v", got, err, want)
				}
			} else {
				got, _, err := Read[float32](bytes.NewReader(raw))
				if err != nil || len(got) != len(c.want) {
					t.Fatalf("Read[float32] = %v, %v", got, err)
				}
				for i := range got {
					if float64(got[i]) != c.want[i] {
						t.Errorf("Read[float32][%d] = %v, want %v", i, got[i], c.want[i])
					}
				}
			}
		})
	}
}

// TestWriteMatchesNumPy compares Write's bytes with files laid out as
// NumPy writes them.
func TestWriteMatchesNumPy(t *testing.T) {
	check := func(name string, write func(w io.Writer) error) {
		t.Helper()
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := fixture(t, name); !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s: wrote\n%q\nwant\n%q", name, b.Bytes(), want)
		}
	}
	check("f4_vec.npy", func(w io.Writer) error { return Write(w, []float32{1.5, -2, 3.25}, 3) })
	check("f8_2x3.npy", func(w io.Writer) error { return Write(w, []float64{0, 0.5, 1, 1.5, 2, 2.5}, 2, 3) })
	check("i8_labels.npy", func(w io.Writer) error { return Write(w, []int64{0, 2, 1, 9}, 4) })
	check("i4_labels.npy", func(w io.Writer) error { return Write(w, []int32{7, 0, 3}, 3) })
	check("scalar_f8.npy", func(w io.Writer) error { return Write(w, []float64{3.5}) })
	check("empty_f4_0x3.npy", func(w io.Writer) error { return Write(w, []float32{}, 0, 3) })
	check("empty_f4_0x3.npy", func(w io.Writer) error { return Write[float32](w, nil, 0, 3) })
}

func roundTrip[T Elem](t *testing.T, x []T, shape ...int) {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, x, shape...); err != nil {
		t.Fatalf("Write %T %v: %v", x, shape, err)
	}
	if b.Len()%64 != len(x)*int(reflect.TypeFor[T]().Size())%64 {
		t.Errorf("%T %v: header not padded to 64 bytes (file size %d)", x, shape, b.Len())
	}
	y, h, err := Read[T](&b)
	if err != nil {
		t.Fatalf("Read %T %v: %v", x, shape, err)
	}
	if b.Len() != 0 {
		t.Errorf("%T %v: %d bytes left unread", x, shape, b.Len())
	}
	if h.DataOffset%64 != 0 || h.Major != 1 || h.FortranOrder {
		t.Errorf("%T %v: header %v offset %d", x, shape, h, h.DataOffset)
	}
	if !reflect.DeepEqual(h.Shape, append([]int{}, shape...)) || h.Len() != len(x) {
		t.Errorf("%T: shape %v, want %v", x, h.Shape, shape)
	}
	if y == nil || len(y) != len(x) {
		t.Fatalf("%T %v: read %d elements (nil=%v), want %d", x, shape, len(y), y == nil, len(x))
	}
	for i := range x {
		if !sameBits(x[i], y[i]) {
			t.Fatalf("%T %v: [%d] = %v, want %v", x, shape, i, y[i], x[i])
		}
	}
	// And through a file.
	path := filepath.Join(t.TempDir(), "a.npy")
	if err := WriteFile(path, x, shape...); err != nil {
		t.Fatal(err)
	}
	z, _, err := ReadFile[T](path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if !sameBits(x[i], z[i]) {
			t.Fatalf("%T %v file: [%d] = %v, want %v", x, shape, i, z[i], x[i])
		}
	}
}

// sameBits compares floats by their bits, so NaN and -0 round-trip too.
func sameBits[T Elem](a, b T) bool {
	switch a := any(a).(type) {
	case float32:
		return math.Float32bits(a) == math.Float32bits(any(b).(float32))
	case float64:
		return math.Float64bits(a) == math.Float64bits(any(b).(float64))
	}
	return a == b
}

func TestRoundTrip(t *testing.T) {
	shapes := [][]int{{}, {0}, {1}, {7}, {2, 3}, {3, 0}, {2, 3, 4}, {0, 2, 5}, {1, 1, 1, 2}, {70000}}
	for _, s := range shapes {
		n := 1
		for _, d := range s {
			n *= d
		}
		f32 := make([]float32, n)
		f64 := make([]float64, n)
		i32 := make([]int32, n)
		i64 := make([]int64, n)
		special32 := []float32{float32(math.NaN()), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), math.MaxFloat32, math.SmallestNonzeroFloat32}
		special64 := []float64{math.NaN(), math.Inf(1), math.Copysign(0, -1), -math.MaxFloat64, math.SmallestNonzeroFloat64}
		for i := range n {
			f32[i] = float32(i)*0.37 - 5
			f64[i] = float64(i)*1e-3 - 7.5
			i32[i] = int32(i*2654435761) ^ math.MinInt32
			i64[i] = int64(i)*-6364136223846793005 + math.MaxInt64
			if i < len(special32) {
				f32[i], f64[i] = special32[i], special64[i]
			}
		}
		roundTrip(t, f32, s...)
		roundTrip(t, f64, s...)
		roundTrip(t, i32, s...)
		roundTrip(t, i64, s...)
	}
}

func TestConversions(t *testing.T) {
	enc := func(write func(w io.Writer) error) *bytes.Reader {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		return bytes.NewReader(b.Bytes())
	}
	// float64 → float32 rounds to nearest; beyond the range gives ±Inf.
	f64 := []float64{0.1, 1 + 0x1p-24, 1 + 0x1.8p-24, 1e300, -1e300, 1e-50}
	got, _, err := Read[float32](enc(func(w io.Writer) error { return Write(w, f64, len(f64)) }))
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0.1, 1, 1 + 0x1p-23, float32(math.Inf(1)), float32(math.Inf(-1)), 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("f8 as float32 = %v, want %v", got, want)
	}
	// float32 → float64 is exact.
	g64, _, err := Read[float64](enc(func(w io.Writer) error { return Write(w, []float32{0.1}, 1) }))
	if err != nil || g64[0] != float64(float32(0.1)) {
		t.Errorf("f4 as float64 = %v, %v", g64, err)
	}
	// int64 → int32 checks the range and names the element.
	_, _, err = Read[int32](enc(func(w io.Writer) error { return Write(w, []int64{1, -1 << 31, 1 << 31}, 3) }))
	if !errors.Is(err, ErrConversion) || !strings.Contains(err.Error(), "element 2") || !strings.Contains(err.Error(), "2147483648") {
		t.Errorf("i8 out of int32 range: err = %v", err)
	}
	i32, _, err := Read[int32](enc(func(w io.Writer) error { return Write(w, []int64{-1 << 31, 1<<31 - 1}, 2) }))
	if err != nil || i32[0] != math.MinInt32 || i32[1] != math.MaxInt32 {
		t.Errorf("i8 at the int32 limits = %v, %v", i32, err)
	}
	// Floats are never read as integers.
	for _, read := range []func(io.Reader) error{
		func(r io.Reader) error { _, _, err := Read[int32](r); return err },
		func(r io.Reader) error { _, _, err := Read[int64](r); return err },
	} {
		err := read(enc(func(w io.Writer) error { return Write(w, []float32{1, 2}, 2) }))
		if !errors.Is(err, ErrConversion) || !strings.Contains(err.Error(), "<f4") {
			t.Errorf("f4 as integer: err = %v", err)
		}
	}
	// int64 → float32 rounds large values.
	f, _, err := Read[float32](enc(func(w io.Writer) error { return Write(w, []int64{1<<24 + 1, -3}, 2) }))
	if err != nil || f[0] != 1<<24 || f[1] != -3 {
		t.Errorf("i8 as float32 = %v, %v", f, err)
	}
}

// withHeader builds a version 1.0 file from a header dictionary and data.
func withHeader(dict string, data []byte) []byte {
	b := []byte(magic + "\x01\x00")
	b = append(b, byte(len(dict)), byte(len(dict)>>8))
	b = append(b, dict...)
	return append(b, data...)
}

func TestUnsignedAndBigEndianRanges(t *testing.T) {
	// u8 above MaxInt64 cannot be int64; u4 above MaxInt32 cannot be int32.
	u8 := withHeader("{'descr': '<u8', 'fortran_order': False, 'shape': (2,)}\n",
		[]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80})
	_, _, err := Read[int64](bytes.NewReader(u8))
	if !errors.Is(err, ErrConversion) || !strings.Contains(err.Error(), "9223372036854775808") {
		t.Errorf("u8 2^63 as int64: err = %v", err)
	}
	f, _, err := Read[float64](bytes.NewReader(u8))
	if err != nil || f[0] != 1 || f[1] != 0x1p63 {
		t.Errorf("u8 as float64 = %v, %v", f, err)
	}
	u4 := withHeader("{'descr': '>u4', 'fortran_order': False, 'shape': (2,)}\n",
		[]byte{0x7f, 0xff, 0xff, 0xff, 0x80, 0, 0, 0})
	_, _, err = Read[int32](bytes.NewReader(u4))
	if !errors.Is(err, ErrConversion) || !strings.Contains(err.Error(), "element 1") {
		t.Errorf(">u4 2^31 as int32: err = %v", err)
	}
	i64, _, err := Read[int64](bytes.NewReader(u4))
	if err != nil || i64[0] != math.MaxInt32 || i64[1] != 1<<31 {
		t.Errorf(">u4 as int64 = %v, %v", i64, err)
	}
	i1 := withHeader("{'descr': '|i1', 'fortran_order': False, 'shape': (3,)}\n", []byte{0x80, 0xff, 0x7f})
	x, _, err := Read[int32](bytes.NewReader(i1))
	if err != nil || !reflect.DeepEqual(x, []int32{-128, -1, 127}) {
		t.Errorf("|i1 = %v, %v", x, err)
	}
	// Big-endian float32 and the float16 specials.
	bf := withHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (1,)}\n", []byte{0x3f, 0xc0, 0, 0})
	y, _, err := Read[float32](bytes.NewReader(bf))
	if err != nil || y[0] != 1.5 {
		t.Errorf(">f4 = %v, %v", y, err)
	}
	half := withHeader("{'descr': '<f2', 'fortran_order': False, 'shape': (5,)}\n",
		[]byte{0x00, 0x7c, 0x00, 0xfc, 0x01, 0x00, 0x00, 0x80, 0x01, 0x7e})
	h, _, err := Read[float64](bytes.NewReader(half))
	if err != nil || !math.IsInf(h[0], 1) || !math.IsInf(h[1], -1) || h[2] != 0x1p-24 ||
		h[3] != 0 || !math.Signbit(h[3]) || !math.IsNaN(h[4]) {
		t.Errorf("<f2 specials = %v, %v", h, err)
	}
	b := withHeader("{'descr': '|b1', 'fortran_order': False, 'shape': (3,)}\n", []byte{0, 1, 2})
	bi, _, err := Read[int32](bytes.NewReader(b))
	if err != nil || !reflect.DeepEqual(bi, []int32{0, 1, 1}) {
		t.Errorf("|b1 = %v, %v", bi, err)
	}
}

func TestHeaderSyntax(t *testing.T) {
	data := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40} // float32 1, 2
	ok := []string{
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
		"{'shape': (2,), 'descr': '<f4', 'fortran_order': False}",
		"{\"fortran_order\":False,\"shape\":(2,),\"descr\":\"<f4\"}",
		"  {  'descr' :  '<f4' ,\t'fortran_order' : False ,  'shape' : ( 2 , ) ,  }  \n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1,), }",
		"{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
		"{'descr': '<f4',\n 'fortran_order': False,\n 'shape': (2,)}\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (+2,), }",
	}
	for _, dict := range ok {
		x, _, err := Read[float32](bytes.NewReader(withHeader(dict, data)))
		if err != nil || !reflect.DeepEqual(x, []float32{1, 2}) {
			t.Errorf("%q: %v, %v", dict, x, err)
		}
	}
	// Shapes: () is one element, (0,) none.
	x, h, err := Read[float32](bytes.NewReader(withHeader("{'descr':'<f4','fortran_order':False,'shape':()}", data[:4])))
	if err != nil || len(h.Shape) != 0 || !reflect.DeepEqual(x, []float32{1}) {
		t.Errorf("shape (): %v %v %v", x, h, err)
	}
	x, _, err = Read[float32](bytes.NewReader(withHeader("{'descr':'<f4','fortran_order':False,'shape':(0,)}", nil)))
	if err != nil || x == nil || len(x) != 0 {
		t.Errorf("shape (0,): %v %v", x, err)
	}
}

func TestReadErrors(t *testing.T) {
	f4 := fixture(t, "f4_vec.npy")
	dict := func(d string) []byte { return withHeader(d, make([]byte, 64)) }
	cases := []struct {
		name  string
		input []byte
		want  error
		msg   string // a part of the message
	}{
		{"empty", nil, ErrNotNPY, "empty input"},
		{"bad magic", []byte("PK\x03\x04 a zip file, not npy"), ErrNotNPY, "magic string"},
		{"text", []byte("1,2,3\n"), ErrNotNPY, `"1,2,3\n"`},
		{"short magic", []byte("\x93NUM"), ErrTruncated, "after 4 bytes"},
		{"no version", []byte("\x93NUMPY\x01"), ErrTruncated, "after 7 bytes"},
		{"version 4", []byte("\x93NUMPY\x04\x00\x10\x00"), ErrVersion, "4.0"},
		{"version 1.1", []byte("\x93NUMPY\x01\x01\x10\x00"), ErrVersion, "1.1"},
		{"version 0", []byte("\x93NUMPY\x00\x00\x10\x00"), ErrVersion, "0.0"},
		{"no header length", []byte("\x93NUMPY\x01\x00\x10"), ErrTruncated, "header length: expected 2 bytes, found 1"},
		{"short header", f4[:50], ErrTruncated, "header: expected 118 bytes, found 40"},
		{"huge header", []byte("\x93NUMPY\x02\x00\xff\xff\xff\xff{"), ErrHeader, "exceeds the limit"},
		{"short data", f4[:len(f4)-2], ErrTruncated, "expected 12 bytes, found 10"},
		{"no data", f4[:128], ErrTruncated, "expected 12 bytes, found 0"},
		{"not a dict", dict("['descr', '<f4']"), ErrHeader, "not a Python dict"},
		{"empty dict text", dict(""), ErrHeader, "not a Python dict"},
		{"unclosed dict", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)"), ErrHeader, "ends before the closing '}'"},
		{"unclosed tuple", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2,"), ErrHeader, "ends before the closing ')'"},
		{"unclosed string", dict("{'descr': '<f4, 'fortran_order': False}"), ErrHeader, "misses a comma"},
		{"string to the end", dict("{'descr"), ErrHeader, "ends inside a string"},
		{"missing comma", dict("{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}"), ErrHeader, "misses a comma"},
		{"missing colon", dict("{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}"), ErrHeader, "misses ':'"},
		{"garbage after", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x"), ErrHeader, "after the dict"},
		{"two commas", dict("{'descr': '<f4',, 'fortran_order': False, 'shape': (2,)}"), ErrHeader, "not a string"},
		{"non-string key", dict("{1: '<f4'}"), ErrHeader, "not a string"},
		{"name", dict("{'descr': float32, 'fortran_order': False, 'shape': (2,)}"), ErrHeader, `"float32"`},
		{"float dim", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}"), ErrHeader, "not a plain decimal integer"},
		{"leading zero", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (02,)}"), ErrHeader, "leading zeros"},
		{"bare sign", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (-,)}"), ErrHeader, "sign without a number"},
		{"deep nesting", dict("{'descr': " + strings.Repeat("(", 100) + "}"), ErrHeader, "deep"},
		{"missing key", dict("{'descr': '<f4', 'shape': (2,)}"), ErrHeader, `misses the key "fortran_order"`},
		{"missing shape", dict("{'descr': '<f4', 'fortran_order': False}"), ErrHeader, `misses the key "shape"`},
		{"extra key", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"), ErrHeader, `unexpected key "x"`},
		{"duplicate key", dict("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}"), ErrHeader, `repeats the key "descr"`},
		{"shape int", dict("{'descr': '<f4', 'fortran_order': False, 'shape': 2}"), ErrHeader, "'shape' is an integer"},
		{"shape (2)", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}"), ErrHeader, "'shape' is an integer"},
		{"shape list", dict("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}"), ErrHeader, "'shape' is a list"},
		{"shape of strings", dict("{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}"), ErrHeader, "a string at position 0"},
		{"fortran 0", dict("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}"), ErrHeader, "want True or False"},
		{"descr None", dict("{'descr': None, 'fortran_order': False, 'shape': (2,)}"), ErrHeader, "'descr' is None"},
		{"negative dim", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}"), ErrShape, "negative"},
		{"huge dim", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"), ErrShape, "too large"},
		{"overflow", dict("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"), ErrShape, "overflows"},
		{"too many dims", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (" + strings.Repeat("1,", 65) + ")}"), ErrShape, "65 dimensions"},
		{"object", dict("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "pickled Python objects"},
		{"object no order", dict("{'descr': 'O', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "pickled Python objects"},
		{"complex", dict("{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "complex"},
		{"string", dict("{'descr': '<U3', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "string"},
		{"bytes", dict("{'descr': '|S3', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "string"},
		{"datetime", dict("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "datetime"},
		{"void", dict("{'descr': '|V8', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "void"},
		{"long double", dict("{'descr': '<f16', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "item size 16"},
		{"i3", dict("{'descr': '<i3', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "item size 3"},
		{"b2", dict("{'descr': '<b2', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "item size 2"},
		{"no size", dict("{'descr': '<f', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "item size"},
		{"unknown kind", dict("{'descr': '<z4', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "unknown kind"},
		{"name dtype", dict("{'descr': 'float32', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "byte order"},
		{"native order", dict("{'descr': '=f4', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "ambiguous"},
		{"pipe f4", dict("{'descr': '|f4', 'fortran_order': False, 'shape': (2,)}"), ErrDType, "one-byte types"},
		{"structured", dict("{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (2,)}"), ErrDType, "structured"},
		{"subarray", dict("{'descr': ('<f4', (2,)), 'fortran_order': False, 'shape': (2,)}"), ErrDType, "subarray"},
		{"bad utf8 v3", append([]byte("\x93NUMPY\x03\x00\x04\x00\x00\x00"), "{\xff}\n"...), ErrHeader, "UTF-8"},
	}
	for _, c := range cases {
		_, _, err := Read[float32](bytes.NewReader(c.input))
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v\nwant %v containing %q", c.name, err, c.want, c.msg)
		}
	}
}

func TestLatin1Header(t *testing.T) {
	// Version 1.0 headers are latin-1: a non-ASCII byte inside a string
	// does not break the parse (the dtype is then unknown).
	b := withHeader("{'descr': '<f\xe94', 'fortran_order': False, 'shape': (1,)}", make([]byte, 4))
	_, _, err := Read[float32](bytes.NewReader(b))
	if !errors.Is(err, ErrDType) {
		t.Errorf("err = %v, want ErrDType", err)
	}
}

// TestTruncatedAllocatesLittle reads headers that announce huge arrays
// with almost no data behind them.
func TestTruncatedAllocatesLittle(t *testing.T) {
	huge := withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,)}", make([]byte, 100))
	readers := map[string]func() io.Reader{
		"bytes.Reader": func() io.Reader { return bytes.NewReader(huge) },
		"plain reader": func() io.Reader { return struct{ io.Reader }{bytes.NewReader(huge)} },
	}
	for name, r := range readers {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := Read[float64](r())
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "expected 8000000000 bytes, found 100") {
			t.Errorf("%s: err = %v", name, err)
		}
		if a := after.TotalAlloc - before.TotalAlloc; a > 1<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte input", name, a, len(huge))
		}
	}
}

func TestReadConsecutive(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, []int64{1, 2}, 2); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, []float32{3}, 1, 1); err != nil {
		t.Fatal(err)
	}
	b.WriteString("tail")
	x, _, err := Read[int64](&b)
	if err != nil || !reflect.DeepEqual(x, []int64{1, 2}) {
		t.Fatalf("first: %v %v", x, err)
	}
	y, h, err := Read[float32](&b)
	if err != nil || !reflect.DeepEqual(y, []float32{3}) || !reflect.DeepEqual(h.Shape, []int{1, 1}) {
		t.Fatalf("second: %v %v %v", y, h, err)
	}
	if b.String() != "tail" {
		t.Errorf("left %q unread, want \"tail\"", b.String())
	}
	// ReadHeader then ReadData.
	b.Reset()
	Write(&b, []float64{4, 5, 6}, 3)
	h, err = ReadHeader(&b)
	if err != nil || h.DType != Float64 || h.Len() != 3 || h.DataSize() != 24 {
		t.Fatalf("ReadHeader: %v %v", h, err)
	}
	z, err := ReadData[float32](&b, h)
	if err != nil || !reflect.DeepEqual(z, []float32{4, 5, 6}) {
		t.Errorf("ReadData: %v %v", z, err)
	}
}

func TestReadDataBadHeader(t *testing.T) {
	for _, h := range []Header{
		{DType: DType{Kind: Int, Size: 3}, Shape: []int{2}},
		{DType: DType{Kind: 'c', Size: 8}, Shape: []int{2}},
		{DType: DType{}, Shape: []int{2}},
		{DType: Float32, Shape: []int{-1}},
	} {
		_, err := ReadData[float64](bytes.NewReader(make([]byte, 64)), h)
		if !errors.Is(err, ErrDType) && !errors.Is(err, ErrShape) {
			t.Errorf("%+v: err = %v", h, err)
		}
	}
}

func TestReadFileSize(t *testing.T) {
	dir := t.TempDir()
	f4 := fixture(t, "f4_vec.npy")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	trailing := write("trailing.npy", append(append([]byte{}, f4...), 0, 0, 0, 0))
	short := write("short.npy", f4[:len(f4)-1])
	for _, p := range []string{trailing} {
		if _, _, err := ReadFile[float32](p); !errors.Is(err, ErrTrailing) || !strings.Contains(err.Error(), "4 bytes after") || !strings.Contains(err.Error(), p) {
			t.Errorf("ReadFile trailing: %v", err)
		}
		if _, err := ReadFileHeader(p); !errors.Is(err, ErrTrailing) {
			t.Errorf("ReadFileHeader trailing: %v", err)
		}
	}
	if _, _, err := ReadFile[float32](short); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "expected 12 bytes, the file holds 11") {
		t.Errorf("ReadFile short: %v", err)
	}
	// The stream reader does not look past the array.
	x, _, err := Read[float32](bytes.NewReader(append(append([]byte{}, f4...), 1, 2, 3)))
	if err != nil || len(x) != 3 {
		t.Errorf("Read with trailing bytes: %v %v", x, err)
	}
	if _, _, err := ReadFile[float32](filepath.Join(dir, "missing.npy")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ReadFileHeader(filepath.Join(dir, "missing.npy")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestWriteErrors(t *testing.T) {
	var b bytes.Buffer
	cases := []struct {
		err error
		msg string
	}{
		{Write(&b, []float32{1, 2, 3}, 2, 2), "holds 4 elements, but the data has 3"},
		{Write(&b, []float32{1, 2}), "shape () holds 1 elements, but the data has 2"},
		{Write(&b, []int32{}, -1), "negative"},
		{Write(&b, []int64{1}, make([]int, 65)...), "65 dimensions"},
		{Write(&b, []float64{}, 1<<62, 1<<62, 0), ""},
	}
	for i, c := range cases[:4] {
		if !errors.Is(c.err, ErrShape) || !strings.Contains(c.err.Error(), c.msg) {
			t.Errorf("case %d: err = %v, want ErrShape with %q", i, c.err, c.msg)
		}
	}
	if cases[4].err != nil {
		t.Errorf("zero-sized array with large dimensions: %v", cases[4].err)
	}
	if b.Len() != 128 {
		t.Errorf("failed writes wrote %d bytes (only the last, valid one should)", b.Len())
	}
	// Overflow of the size.
	if err := Write(&b, []float64{}, 1<<40, 1<<40); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("overflowing shape: %v", err)
	}
	// A failing writer.
	boom := errors.New("disk full")
	if err := Write(failWriter{boom}, []float32{1}, 1); !errors.Is(err, boom) {
		t.Errorf("failing writer: %v", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	if err := WriteFile(p, []float32{1, 2}, 2); err != nil {
		t.Fatal(err)
	}
	// A bad shape leaves the old file alone and no temporary file behind.
	if err := WriteFile(p, []float32{1, 2, 3}, 2); !errors.Is(err, ErrShape) {
		t.Fatalf("err = %v", err)
	}
	x, _, err := ReadFile[float32](p)
	if err != nil || !reflect.DeepEqual(x, []float32{1, 2}) {
		t.Errorf("after a failed write: %v %v", x, err)
	}
	if err := WriteFile(p, []int64{7}, 1); err != nil {
		t.Fatal(err)
	}
	h, err := ReadFileHeader(p)
	if err != nil || h.DType != Int64 {
		t.Errorf("replaced file: %v %v", h, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left in the directory: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "x.npy"), []float32{1}, 1); err == nil {
		t.Error("no error for a missing directory")
	}
}

func TestVersion2Header(t *testing.T) {
	// A header too long for version 1.0 is written as 2.0 and reads back.
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }" + strings.Repeat(" ", 70000)
	b := wrapHeader(dict)
	if b[6] != 2 || b[7] != 0 || len(b)%64 != 0 || b[len(b)-1] != '\n' {
		t.Fatalf("version %d.%d, length %d", b[6], b[7], len(b))
	}
	b = append(b, 0, 0, 0x80, 0x3f)
	x, h, err := Read[float32](bytes.NewReader(b))
	if err != nil || h.Major != 2 || !reflect.DeepEqual(x, []float32{1}) {
		t.Errorf("%v %v %v", x, h, err)
	}
	// A short header stays 1.0, and an exactly aligned one gets a full
	// 64 bytes of padding as NumPy gives it.
	for n := 40; n < 200; n++ {
		b := wrapHeader(strings.Repeat("x", n))
		pad := len(b) - 10 - n - 1
		if b[6] != 1 || len(b)%64 != 0 || pad < 0 || pad > 63 && !(pad == 64 && (10+n+1)%64 == 0) {
			t.Fatalf("n=%d: version %d, length %d, padding %d", n, b[6], len(b), pad)
		}
	}
}

func TestFortranOrder(t *testing.T) {
	// A 2x2x2 float64 array in Fortran order: element (i, j, k) is stored
	// at i + 2j + 4k.
	data := make([]byte, 0, 64)
	for k := range 2 {
		for j := range 2 {
			for i := range 2 {
				data = append(data, f64le(float64(100*i+10*j+k))...)
			}
		}
	}
	b := withHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2, 2), }", data)
	x, h, err := Read[float64](bytes.NewReader(b))
	want := []float64{0, 1, 10, 11, 100, 101, 110, 111}
	if err != nil || !h.FortranOrder || !reflect.DeepEqual(x, want) {
		t.Errorf("got %v %v %v, want %v", x, h, err, want)
	}
	// Fortran order with a zero-sized dimension and in 1-D.
	if x, _, err := Read[float64](bytes.NewReader(withHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (3, 0)}", nil))); err != nil || len(x) != 0 {
		t.Errorf("(3, 0) fortran: %v %v", x, err)
	}
	if x, _, err := Read[float64](bytes.NewReader(withHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (2,)}", append(f64le(1), f64le(2)...)))); err != nil || !reflect.DeepEqual(x, []float64{1, 2}) {
		t.Errorf("1-D fortran: %v %v", x, err)
	}
}

func f64le(v float64) []byte {
	u := math.Float64bits(v)
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(u >> (8 * i))
	}
	return b
}

func TestDTypeString(t *testing.T) {
	for _, c := range []struct {
		d    DType
		want string
	}{
		{Float32, "<f4"}, {Float64, "<f8"}, {Int32, "<i4"}, {Int64, "<i8"},
		{DType{Kind: Uint, Size: 1}, "|u1"}, {DType{Kind: Bool, Size: 1}, "|b1"},
		{DType{Kind: Float, Size: 8, BigEndian: true}, ">f8"},
	} {
		if s := c.d.String(); s != c.want {
			t.Errorf("%+v: %q, want %q", c.d, s, c.want)
		}
	}
	h := Header{Major: 1, DType: Float32, Shape: []int{2, 3}, FortranOrder: true}
	if s := h.String(); s != "<f4 (2, 3) v1.0 fortran_order" {
		t.Errorf("Header.String = %q", s)
	}
}

func BenchmarkReadFloat32(b *testing.B) {
	x := make([]float32, 1<<20)
	var buf bytes.Buffer
	Write(&buf, x, len(x))
	raw := buf.Bytes()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := Read[float32](bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteHeader: a header written for float16 and for bfloat16 (|V2)
// followed by the raw 2-byte data reads back as the values; dtypes the
// package does not read and bad shapes are refused.
func TestWriteHeader(t *testing.T) {
	vals := []float32{1, -2, 0.5, 0, 3, -0.25} // exact in float16 and bfloat16
	half := []uint16{0x3c00, 0xc000, 0x3800, 0x0000, 0x4200, 0xb400}
	for _, c := range []struct {
		d    DType
		bits func(i int) uint16
		opts []RowOption
	}{
		{DType{Kind: Float, Size: 2}, func(i int) uint16 { return half[i] }, nil},
		{DType{Kind: Void, Size: 2}, func(i int) uint16 { return uint16(math.Float32bits(vals[i]) >> 16) }, []RowOption{BFloat16()}},
	} {
		var b bytes.Buffer
		if err := WriteHeader(&b, c.d, 2, 3); err != nil {
			t.Fatal(err)
		}
		for i := range vals {
			b.Write([]byte{byte(c.bits(i)), byte(c.bits(i) >> 8)})
		}
		rr, err := NewRowReader(bytes.NewReader(b.Bytes()), c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if h := rr.Header(); h.DType != c.d || !reflect.DeepEqual(h.Shape, []int{2, 3}) || h.DataOffset%64 != 0 {
			t.Errorf("%s: header %+v", c.d, h)
		}
		got := make([]float32, 6)
		if n, err := ReadRows(rr, got); n != 2 || err != nil || !reflect.DeepEqual(got, vals) {
			t.Errorf("%s: read %d rows %v (%v), want %v", c.d, n, got, err, vals)
		}
	}
	var b bytes.Buffer
	if err := WriteHeader(&b, DType{Kind: Void, Size: 4}, 3); !errors.Is(err, ErrDType) {
		t.Errorf("|V4: err %v, want ErrDType", err)
	}
	if err := WriteHeader(&b, Float32, 2, -1); !errors.Is(err, ErrShape) {
		t.Errorf("shape [2, -1]: err %v, want ErrShape", err)
	}
	if b.Len() != 0 {
		t.Errorf("refused headers wrote %d bytes", b.Len())
	}
}
