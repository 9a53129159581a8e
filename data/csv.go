package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/xentlab/xent/internal/clip"
)

// HeaderMode says whether a CSV file starts with a header line.
type HeaderMode int

const (
	// DetectHeader treats the first line as a header when one of its
	// feature fields (any field but the label's) is not a number.
	DetectHeader HeaderMode = iota
	// HasHeader: the first line is a header.
	HasHeader
	// NoHeader: the first line is data.
	NoHeader
)

// CSVOptions configures ReadCSV. The zero value reads comma-separated
// values with the label in the first column and a header line detected.
type CSVOptions struct {
	// Label is the index of the label column, counted from 0; a negative
	// index counts from the end (−1 is the last column).
	Label int
	// LabelName, when set, selects the label column by its name in the
	// header line instead (the file must then have a header).
	LabelName string
	// Header says whether the first line is a header (default: detect).
	Header HeaderMode
	// Comma is the field separator (default ',').
	Comma rune
	// Comment, when not 0, starts comment lines (which must begin with it).
	Comment rune
	// Classes, when not nil, fixes the classes: label ClassNames[k] is
	// class k (compared as text, or by value when both are numbers), and
	// a label not in the list is an error. Pass a training set's
	// ClassNames when reading its test set.
	Classes []string
	// MaxLine bounds the length of a line in bytes (0: DefaultMaxLine).
	MaxLine int
	// MaxDense bounds Rows×Cols, the feature values read (0:
	// DefaultMaxDense).
	MaxDense int
}

// ReadCSV reads a data set from CSV text (gzipped or not): one example per
// line, one label field and numeric feature fields. Blank lines are
// skipped; fields may be quoted; spaces around numbers are ignored.
// Labels are mapped to classes as the package documentation describes.
//
// Errors name the line and field: a feature that is not a number, or not
// a finite float32; an empty field; a line whose number of fields differs
// from the first line's; an empty input, a header without data, or no
// feature column.
func ReadCSV(r io.Reader, opt CSVOptions) (Set, error) {
	r, stop, err := decompress(r)
	defer stop()
	if err != nil {
		return Set{}, err
	}
	maxDense := opt.MaxDense
	if maxDense <= 0 {
		maxDense = DefaultMaxDense
	}
	cr := csv.NewReader(skipBOM(newLineLimit(r, "csv", opt.MaxLine)))
	cr.Comma = ','
	if opt.Comma != 0 {
		cr.Comma = opt.Comma
	}
	cr.Comment = opt.Comment
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	var (
		s        Set
		lab      = labeler{what: "csv"}
		header   []string // names of the columns, if there is a header
		fields   int      // fields per line, set by the first line
		label    int      // index of the label column
		firstRow = 0      // line of the first record
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, ErrFormat) { // from the line limit or the gzip stream
				return Set{}, err
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return Set{}, fmt.Errorf("data: csv line %d, column %d: %w: %w", pe.Line, pe.Column, pe.Err, ErrFormat)
			}
			return Set{}, fmt.Errorf("data: csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of spaces
		}
		if fields == 0 {
			// The first line fixes the number of fields and the label
			// column, and may be a header.
			fields, firstRow = len(rec), line
			if label, err = labelColumn(opt, rec, fields); err != nil {
				return Set{}, fmt.Errorf("data: csv line %d: %w", line, err)
			}
			if fields < 2 {
				return Set{}, fmt.Errorf("data: csv line %d: %d field, want a label and at least one feature: %w", line, fields, ErrFormat)
			}
			s.Cols = fields - 1
			if isHeader(opt, rec, label) {
				header = append([]string(nil), rec...)
				if opt.LabelName != "" {
					label = -1
					for i, name := range header {
						if strings.TrimSpace(name) == opt.LabelName {
							label = i
							break
						}
					}
					if label < 0 {
						return Set{}, fmt.Errorf("data: csv line %d: no column named %q in the header: %w", line, opt.LabelName, ErrFormat)
					}
				}
				continue
			}
		}
		if len(rec) != fields {
			return Set{}, fmt.Errorf("data: csv line %d: %d fields, want %d as on line %d: %w", line, len(rec), fields, firstRow, ErrFormat)
		}
		for i, f := range rec {
			if i == label {
				if err := lab.add(f, line); err != nil {
					return Set{}, err
				}
				continue
			}
			v, err := parseFeature(f)
			if err != nil {
				l, col := cr.FieldPos(i)
				name := ""
				if header != nil {
					name = " " + clip.Quote(strings.TrimSpace(header[i]))
				}
				return Set{}, fmt.Errorf("data: csv line %d, column %d (field %d%s): %w", l, col, i+1, name, err)
			}
			s.X = append(s.X, v)
		}
		s.Rows++
		if s.Rows > maxDense/s.Cols {
			return Set{}, fmt.Errorf("data: csv line %d: more than MaxDense = %d feature values: %w", line, maxDense, ErrFormat)
		}
	}
	switch {
	case fields == 0:
		return Set{}, fmt.Errorf("data: csv: empty input: %w", ErrFormat)
	case s.Rows == 0:
		return Set{}, fmt.Errorf("data: csv: no data after the header line: %w", ErrFormat)
	}
	if s.Y, s.Classes, s.ClassNames, err = lab.finish(opt.Classes); err != nil {
		return Set{}, err
	}
	return s, nil
}

// labelColumn resolves the label column of a file with the given number of
// fields from the options (LabelName is resolved later, with the header).
func labelColumn(opt CSVOptions, rec []string, fields int) (int, error) {
	if opt.LabelName != "" {
		if opt.Header == NoHeader {
			return 0, fmt.Errorf("LabelName %q needs a header, but Header is NoHeader", opt.LabelName)
		}
		return -1, nil
	}
	label := opt.Label
	if label < 0 {
		label += fields
	}
	if label < 0 || label >= fields {
		return 0, fmt.Errorf("label column %d does not exist: the line has %d fields: %w", opt.Label, fields, ErrFormat)
	}
	return label, nil
}

// isHeader decides whether the first record is a header line.
func isHeader(opt CSVOptions, rec []string, label int) bool {
	switch {
	case opt.LabelName != "" || opt.Header == HasHeader:
		return true
	case opt.Header == NoHeader:
		return false
	}
	for i, f := range rec {
		if i == label {
			continue
		}
		if _, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err != nil && !errors.Is(err, strconv.ErrRange) {
			return true
		}
	}
	return false
}

// parseFeature parses one feature value: a finite float32.
func parseFeature(f string) (float32, error) {
	t := strings.TrimSpace(f)
	if t == "" {
		return 0, fmt.Errorf("empty value: %w", ErrFormat)
	}
	v, err := strconv.ParseFloat(t, 32)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%s is beyond the float32 range: %w", clip.Quote(t), ErrFormat)
	case err != nil:
		return 0, fmt.Errorf("%s is not a number: %w", clip.Quote(t), ErrFormat)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%s is not finite: %w", clip.Quote(t), ErrFormat)
	}
	return float32(v), nil
}

// LoadCSV reads a data set from the CSV file at path (gzipped or not), as
// ReadCSV does.
func LoadCSV(path string, opt CSVOptions) (Set, error) {
	var s Set
	err := withFile(path, func(r io.Reader) (err error) {
		s, err = ReadCSV(r, opt)
		return err
	})
	return s, err
}
