package data

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/xentlab/xent/internal/clip"
)

// labeler collects the label texts of a text file, row by row, and maps
// them to classes 0..K−1 at the end (see the package documentation).
type labeler struct {
	what        string           // the format, for error messages
	numericOnly bool             // labels must be numbers (LibSVM)
	ids         []int32          // per row: index into texts
	texts       []string         // distinct label texts, in order of appearance
	lines       []int            // line where each distinct text first appeared
	index       map[string]int32 // text → index into texts
}

// add records the label of the next row, found on the given line.
func (l *labeler) add(text string, line int) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return fmt.Errorf("data: %s line %d: empty label: %w", l.what, line, ErrFormat)
	}
	id, ok := l.index[text]
	if !ok {
		if l.numericOnly {
			if _, ok := labelNumber(text); !ok {
				return fmt.Errorf("data: %s line %d: label %s is not a finite number: %w", l.what, line, clip.Quote(text), ErrFormat)
			}
		}
		if l.index == nil {
			l.index = make(map[string]int32)
		}
		if len(l.texts) >= math.MaxInt32 {
			return fmt.Errorf("data: %s line %d: too many distinct labels: %w", l.what, line, ErrFormat)
		}
		id = int32(len(l.texts))
		l.index[text] = id
		l.texts = append(l.texts, text)
		l.lines = append(l.lines, line)
	}
	l.ids = append(l.ids, id)
	return nil
}

// labelNumber parses a label as a finite number.
func labelNumber(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	if v == 0 {
		v = 0 // no −0 class
	}
	return v, true
}

// numberName is the canonical name of a numeric label: an integer without
// a fraction or exponent when it is one, else the shortest form.
func numberName(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// finish maps the labels to classes. With classes nil, the sorted distinct
// labels become 0..K−1; otherwise each label must be one of classes,
// compared as text or, when both are numbers, by value.
func (l *labeler) finish(classes []string) (y []int32, k int, names []string, err error) {
	classOf := make([]int32, len(l.texts))
	if classes == nil {
		values := make([]float64, len(l.texts))
		numeric := true
		for i, t := range l.texts {
			v, ok := labelNumber(t)
			values[i] = v
			numeric = numeric && ok
		}
		if numeric {
			distinct := slices.Clone(values)
			slices.Sort(distinct)
			distinct = slices.Compact(distinct)
			for i, v := range values {
				c, _ := slices.BinarySearch(distinct, v)
				classOf[i] = int32(c)
			}
			names = make([]string, len(distinct))
			for c, v := range distinct {
				names[c] = numberName(v)
			}
		} else {
			names = slices.Clone(l.texts)
			slices.Sort(names)
			for i, t := range l.texts {
				c, _ := slices.BinarySearch(names, t)
				classOf[i] = int32(c)
			}
		}
	} else {
		if len(classes) > math.MaxInt32 {
			return nil, 0, nil, fmt.Errorf("data: %s: %d classes are too many", l.what, len(classes))
		}
		byText := make(map[string]int32, len(classes))
		byValue := make(map[float64]int32, len(classes))
		for c, name := range classes {
			name = strings.TrimSpace(name)
			if _, dup := byText[name]; dup || name == "" {
				return nil, 0, nil, fmt.Errorf("data: %s: the Classes option lists %q twice or empty", l.what, name)
			}
			byText[name] = int32(c)
			if v, ok := labelNumber(name); ok {
				if _, dup := byValue[v]; dup {
					return nil, 0, nil, fmt.Errorf("data: %s: the Classes option lists the value of %q twice", l.what, name)
				}
				byValue[v] = int32(c)
			}
		}
		for i, t := range l.texts {
			c, ok := byText[t]
			if !ok {
				if v, isNum := labelNumber(t); isNum {
					c, ok = byValue[v]
				}
			}
			if !ok {
				return nil, 0, nil, fmt.Errorf("data: %s line %d: label %s is not one of the %d classes given (%s): %w",
					l.what, l.lines[i], clip.Quote(t), len(classes), abbreviateList(classes), ErrFormat)
			}
			classOf[i] = c
		}
		names = slices.Clone(classes)
	}
	y = make([]int32, len(l.ids))
	for i, id := range l.ids {
		y[i] = classOf[id]
	}
	return y, len(names), names, nil
}

func abbreviateList(s []string) string {
	if len(s) > 10 {
		return strings.Join(s[:10], ", ") + ", ..."
	}
	return strings.Join(s, ", ")
}
