package npy

import (
	"fmt"
	"strconv"
	"strings"
)

// The header of an .npy file is the repr of a Python dict, e.g.
//
//	{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//
// followed by spaces and a newline. NumPy reads it with
// ast.literal_eval; this file parses the subset of Python literals that
// can appear in it: dicts, tuples, lists, strings, integers (with the
// trailing L of Python 2 longs), True, False and None, with any spacing and
// trailing commas.

type pyKind int

const (
	pyStr pyKind = iota
	pyInt
	pyBool
	pyNone
	pyTuple
	pyList
	pyDict
)

func (k pyKind) String() string {
	return [...]string{"a string", "an integer", "a bool", "None", "a tuple", "a list", "a dict"}[k]
}

type pyValue struct {
	kind  pyKind
	str   string
	num   int64 // pyInt
	big   bool  // pyInt whose value does not fit in int64
	b     bool
	items []pyValue // pyTuple, pyList
	keys  []string  // pyDict (keys must be strings in a header)
}

// maxDepth bounds the nesting of brackets, so that a hostile header cannot
// exhaust the stack.
const maxDepth = 32

type pyParser struct {
	s     string
	pos   int
	depth int
}

func (p *pyParser) errorf(format string, args ...any) error {
	return fmt.Errorf("npy: header %s at byte %d: %w", fmt.Sprintf(format, args...), p.pos, ErrHeader)
}

func (p *pyParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

func (p *pyParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *pyParser) value() (pyValue, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return pyValue{}, p.errorf("ends where a value is expected")
	}
	c := p.s[p.pos]
	switch {
	case c == '\'' || c == '"':
		s, err := p.str()
		return pyValue{kind: pyStr, str: s}, err
	case c == '(' || c == '[' || c == '{':
		if p.depth >= maxDepth {
			return pyValue{}, p.errorf("nests brackets more than %d deep", maxDepth)
		}
		p.depth++
		defer func() { p.depth-- }()
		switch c {
		case '(':
			return p.seq('(', ')')
		case '[':
			return p.seq('[', ']')
		}
		return p.dict()
	case c == '-' || c == '+' || ('0' <= c && c <= '9'):
		return p.integer()
	case isIdentStart(c):
		start := p.pos
		for p.pos < len(p.s) && isIdentPart(p.s[p.pos]) {
			p.pos++
		}
		switch w := p.s[start:p.pos]; w {
		case "True":
			return pyValue{kind: pyBool, b: true}, nil
		case "False":
			return pyValue{kind: pyBool}, nil
		case "None":
			return pyValue{kind: pyNone}, nil
		default:
			p.pos = start
			return pyValue{}, p.errorf("has the name %q where a literal is expected", w)
		}
	}
	return pyValue{}, p.errorf("has unexpected character %q", c)
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || ('0' <= c && c <= '9') }

// str parses a single- or double-quoted string with backslash escapes.
func (p *pyParser) str() (string, error) {
	q := p.s[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case q:
			return b.String(), nil
		case '\n':
			return "", p.errorf("has a newline inside a string")
		case '\\':
			if p.pos >= len(p.s) {
				return "", p.errorf("ends inside a string")
			}
			e := p.s[p.pos]
			p.pos++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\', '\'', '"':
				b.WriteByte(e)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", p.errorf("ends inside a string")
}

// integer parses a decimal integer, with an optional sign and an optional
// L suffix (Python 2 longs, found in old files).
func (p *pyParser) integer() (pyValue, error) {
	start := p.pos
	neg := false
	if c := p.s[p.pos]; c == '-' || c == '+' {
		neg = c == '-'
		p.pos++
		p.skipSpace()
	}
	digits := p.pos
	for p.pos < len(p.s) && '0' <= p.s[p.pos] && p.s[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == digits {
		p.pos = start
		return pyValue{}, p.errorf("has a sign without a number")
	}
	text := p.s[digits:p.pos]
	if p.pos < len(p.s) {
		switch c := p.s[p.pos]; {
		case c == 'L' || c == 'l':
			p.pos++
		case c == '.' || c == 'e' || c == 'E' || c == 'j' || c == 'J' || c == 'x' || c == 'X' || c == '_' || isIdentStart(c):
			p.pos = start
			return pyValue{}, p.errorf("has a number that is not a plain decimal integer")
		}
	}
	if len(text) > 1 && text[0] == '0' && strings.Trim(text, "0") != "" {
		p.pos = start
		return pyValue{}, p.errorf("has an integer with leading zeros")
	}
	if neg {
		text = "-" + text
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return pyValue{kind: pyInt, big: true}, nil
	}
	return pyValue{kind: pyInt, num: n}, nil
}

// seq parses a tuple or a list. As in Python, a parenthesized single value
// without a comma is that value, not a tuple.
func (p *pyParser) seq(open, close byte) (pyValue, error) {
	p.pos++ // open
	kind := pyList
	if open == '(' {
		kind = pyTuple
	}
	var items []pyValue
	comma := false
	for {
		p.skipSpace()
		if p.peek() == close {
			p.pos++
			if kind == pyTuple && len(items) == 1 && !comma {
				return items[0], nil
			}
			return pyValue{kind: kind, items: items}, nil
		}
		if len(items) > 0 && !comma {
			return pyValue{}, p.errorf("misses a comma or %q", close)
		}
		v, err := p.value()
		if err != nil {
			return pyValue{}, err
		}
		items = append(items, v)
		p.skipSpace()
		comma = p.peek() == ','
		if comma {
			p.pos++
		}
		if p.pos >= len(p.s) {
			return pyValue{}, p.errorf("ends before the closing %q", close)
		}
	}
}

// dict parses a dict whose keys are strings.
func (p *pyParser) dict() (pyValue, error) {
	p.pos++ // {
	v := pyValue{kind: pyDict}
	comma := true
	for {
		p.skipSpace()
		if p.pos >= len(p.s) {
			return pyValue{}, p.errorf("ends before the closing '}'")
		}
		if p.peek() == '}' {
			p.pos++
			return v, nil
		}
		if !comma {
			return pyValue{}, p.errorf("misses a comma or '}'")
		}
		if c := p.peek(); c != '\'' && c != '"' {
			return pyValue{}, p.errorf("has a dict key that is not a string")
		}
		key, err := p.str()
		if err != nil {
			return pyValue{}, err
		}
		for _, k := range v.keys {
			if k == key {
				return pyValue{}, p.errorf("repeats the key %q", key)
			}
		}
		p.skipSpace()
		if p.peek() != ':' {
			return pyValue{}, p.errorf("misses ':' after the key %q", key)
		}
		p.pos++
		val, err := p.value()
		if err != nil {
			return pyValue{}, err
		}
		v.keys = append(v.keys, key)
		v.items = append(v.items, val)
		p.skipSpace()
		comma = p.peek() == ','
		if comma {
			p.pos++
		}
	}
}

// parseHeaderDict parses the header text and fills in the dtype, order and
// shape of h.
func parseHeaderDict(text string, h *Header) error {
	p := &pyParser{s: text}
	p.skipSpace()
	if p.peek() != '{' {
		return p.errorf("is not a Python dict: want '{', found %q", abbreviate(text[p.pos:]))
	}
	d, err := p.value()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return p.errorf("has %q after the dict", abbreviate(text[p.pos:]))
	}
	var descr, order, shape *pyValue
	for i, k := range d.keys {
		v := &d.items[i]
		switch k {
		case "descr":
			descr = v
		case "fortran_order":
			order = v
		case "shape":
			shape = v
		default:
			return fmt.Errorf("npy: header has the unexpected key %q (want exactly 'descr', 'fortran_order' and 'shape'): %w", k, ErrHeader)
		}
	}
	for _, m := range []struct {
		name string
		v    *pyValue
	}{{"descr", descr}, {"fortran_order", order}, {"shape", shape}} {
		if m.v == nil {
			return fmt.Errorf("npy: header misses the key %q: %w", m.name, ErrHeader)
		}
	}

	switch descr.kind {
	case pyStr:
		if h.DType, err = parseDType(descr.str); err != nil {
			return err
		}
	case pyList:
		return fmt.Errorf("npy: descr is a list of fields: structured arrays are not supported: %w", ErrDType)
	case pyTuple:
		return fmt.Errorf("npy: descr is a tuple: subarray dtypes are not supported: %w", ErrDType)
	default:
		return fmt.Errorf("npy: header 'descr' is %s, want a dtype string such as '<f4': %w", descr.kind, ErrHeader)
	}

	if order.kind != pyBool {
		return fmt.Errorf("npy: header 'fortran_order' is %s, want True or False: %w", order.kind, ErrHeader)
	}
	h.FortranOrder = order.b

	if shape.kind != pyTuple {
		return fmt.Errorf("npy: header 'shape' is %s, want a tuple of integers such as (3,) or (): %w", shape.kind, ErrHeader)
	}
	if len(shape.items) > MaxDims {
		return fmt.Errorf("npy: shape has %d dimensions, at most %d are supported: %w", len(shape.items), MaxDims, ErrShape)
	}
	h.Shape = make([]int, len(shape.items))
	const maxInt = int64(^uint(0) >> 1)
	for i, v := range shape.items {
		if v.kind != pyInt {
			return fmt.Errorf("npy: header 'shape' has %s at position %d, want integers: %w", v.kind, i, ErrHeader)
		}
		if v.big || v.num > maxInt {
			return fmt.Errorf("npy: shape dimension %d is too large: %w", i, ErrShape)
		}
		if v.num < 0 {
			return fmt.Errorf("npy: shape dimension %d is negative (%d): %w", i, v.num, ErrShape)
		}
		h.Shape[i] = int(v.num)
	}
	_, err = checkShape(h.Shape, h.DType.Size)
	return err
}

// abbreviate shortens s for an error message.
func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
