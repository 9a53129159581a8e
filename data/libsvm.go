package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/xentlab/xent/internal/clip"
)

// LibSVMOptions configures ReadLibSVM. The zero value infers the number of
// features and maps the labels to classes as the package documentation
// describes.
type LibSVMOptions struct {
	// Features is the number of features; an index above it is an error.
	// 0 infers it as the largest index in the input. Pass a training
	// set's Cols when reading its test set, whose largest index may be
	// smaller.
	Features int
	// Classes, when not nil, fixes the classes as CSVOptions.Classes does.
	Classes []string
	// MaxDense bounds the size of the dense feature matrix, Rows×Cols
	// values, since a short sparse file can name a huge index. 0 means
	// DefaultMaxDense.
	MaxDense int
	// MaxLine bounds the length of a line in bytes (0: DefaultMaxLine).
	MaxLine int
}

// DefaultMaxDense is the default bound on Rows×Cols for ReadLibSVM: 2²⁸
// values, 1 GiB of float32.
const DefaultMaxDense = 1 << 28

// ReadLibSVM reads a data set in the LibSVM sparse text format (gzipped or
// not), one example per line:
//
//	label index:value index:value ... # comment
//
// The label is a number (such as 1, -1, +1 or 2.5); indices start at 1
// and must increase along a line; features not listed are 0. Text from #
// to the end of a line is a comment, and blank lines are skipped. Labels
// are mapped to classes as the package documentation describes. The
// features are returned dense, with index i in column i−1.
//
// Errors name the line: a label that is not a number, an index that is 0,
// repeated, out of order, not an integer or above Features, a value that
// is not a finite float32, a qid (ranking data is not supported), an empty
// input, or a dense matrix larger than MaxDense.
func ReadLibSVM(r io.Reader, opt LibSVMOptions) (Set, error) {
	r, stop, err := decompress(r)
	defer stop()
	if err != nil {
		return Set{}, err
	}
	if opt.Features < 0 {
		return Set{}, fmt.Errorf("data: libsvm: Features = %d, want ≥ 0", opt.Features)
	}
	maxDense := opt.MaxDense
	if maxDense <= 0 {
		maxDense = DefaultMaxDense
	}
	br := bufio.NewReaderSize(newLineLimit(r, "libsvm", opt.MaxLine), 1<<16)
	lab := labeler{what: "libsvm", numericOnly: true}
	var (
		cols     []int32 // column of each stored value
		vals     []float32
		rowStart = []int{0}
		maxIndex int
	)
	for line := 1; ; line++ {
		text, err := br.ReadString('\n')
		if errors.Is(err, ErrFormat) {
			return Set{}, err // the line limit or the gzip stream
		}
		if err != nil && err != io.EOF {
			return Set{}, fmt.Errorf("data: libsvm line %d: %w", line, err)
		}
		if text == "" && err == io.EOF {
			break
		}
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if strings.IndexByte(fields[0], ':') >= 0 {
			return Set{}, fmt.Errorf("data: libsvm line %d: starts with %s, want a label first: %w", line, clip.Quote(fields[0]), ErrFormat)
		}
		if err := lab.add(fields[0], line); err != nil {
			return Set{}, err
		}
		prev := 0
		for _, tok := range fields[1:] {
			k := strings.IndexByte(tok, ':')
			if k < 0 {
				return Set{}, fmt.Errorf("data: libsvm line %d: %s is not index:value: %w", line, clip.Quote(tok), ErrFormat)
			}
			is, vs := tok[:k], tok[k+1:]
			if is == "qid" {
				return Set{}, fmt.Errorf("data: libsvm line %d: qid (ranking data) is not supported: %w", line, ErrFormat)
			}
			idx, err := strconv.Atoi(is)
			switch {
			case is == "" || strings.Trim(is, "0123456789") != "":
				return Set{}, fmt.Errorf("data: libsvm line %d: index %s is not a positive integer: %w", line, clip.Quote(is), ErrFormat)
			case err != nil || idx > math.MaxInt32:
				return Set{}, fmt.Errorf("data: libsvm line %d: index %s is too large: %w", line, clip.Quote(is), ErrFormat)
			case idx == 0:
				return Set{}, fmt.Errorf("data: libsvm line %d: index 0: indices start at 1: %w", line, ErrFormat)
			case idx == prev:
				return Set{}, fmt.Errorf("data: libsvm line %d: index %d is repeated: %w", line, idx, ErrFormat)
			case idx < prev:
				return Set{}, fmt.Errorf("data: libsvm line %d: index %d after %d: indices must increase: %w", line, idx, prev, ErrFormat)
			case opt.Features > 0 && idx > opt.Features:
				return Set{}, fmt.Errorf("data: libsvm line %d: index %d exceeds the %d features: %w", line, idx, opt.Features, ErrFormat)
			}
			v, err := parseFeature(vs)
			if err != nil {
				return Set{}, fmt.Errorf("data: libsvm line %d, index %d: %w", line, idx, err)
			}
			prev = idx
			maxIndex = max(maxIndex, idx)
			cols = append(cols, int32(idx-1))
			vals = append(vals, v)
		}
		rowStart = append(rowStart, len(vals))
		if cols := max(maxIndex, opt.Features, 1); len(rowStart)-1 > maxDense/cols {
			return Set{}, fmt.Errorf("data: libsvm line %d: the dense matrix of %d rows × %d features exceeds MaxDense = %d values: %w", line, len(rowStart)-1, cols, maxDense, ErrFormat)
		}
		if err == io.EOF {
			break
		}
	}
	rows := len(rowStart) - 1
	if rows == 0 {
		return Set{}, fmt.Errorf("data: libsvm: empty input (no examples): %w", ErrFormat)
	}
	s := Set{Rows: rows, Cols: maxIndex}
	if opt.Features > 0 {
		s.Cols = opt.Features
	}
	if s.Cols == 0 {
		return Set{}, fmt.Errorf("data: libsvm: no features in any line (set Features to read all-zero examples): %w", ErrFormat)
	}
	if s.Rows > maxDense/s.Cols {
		return Set{}, fmt.Errorf("data: libsvm: the dense matrix of %d rows × %d features exceeds MaxDense = %d values: %w", s.Rows, s.Cols, maxDense, ErrFormat)
	}
	s.X = make([]float32, s.Rows*s.Cols)
	for i := range rows {
		row := s.Row(i)
		for k := rowStart[i]; k < rowStart[i+1]; k++ {
			row[cols[k]] = vals[k]
		}
	}
	if s.Y, s.Classes, s.ClassNames, err = lab.finish(opt.Classes); err != nil {
		return Set{}, err
	}
	return s, nil
}

// LoadLibSVM reads a data set from the LibSVM file at path (gzipped or
// not), as ReadLibSVM does.
func LoadLibSVM(path string, opt LibSVMOptions) (Set, error) {
	var s Set
	err := withFile(path, func(r io.Reader) (err error) {
		s, err = ReadLibSVM(r, opt)
		return err
	})
	return s, err
}
