// Package csvlines reads the small comma-separated files of the scaling
// tools line by line: one rule for byte-order marks, blank lines, '#'
// comments, spaces around fields and overlong lines, wherever such a file
// is read.
package csvlines

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxLine is the longest line read (bytes).
const MaxLine = 1 << 20

// ErrTooLong is the error of a line longer than MaxLine.
var ErrTooLong = errors.New("line longer than 1 MiB")

// Each calls fn with the 1-based number and the fields (split at commas,
// spaces around each trimmed) of every line of r that is not blank and
// does not start with '#'; a UTF-8 byte-order mark before the first line
// is skipped. It stops at fn's first error and returns it. A line longer
// than MaxLine, or a read error, is an error naming its line.
func Each(r io.Reader, fn func(line int, fields []string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		text = strings.TrimSpace(text)
		if text == "" || text[0] == '#' {
			continue
		}
		fields := strings.Split(text, ",")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if err := fn(line, fields); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &LineError{Line: line + 1, Err: ErrTooLong}
		}
		return &LineError{Line: line + 1, Err: err}
	}
	return nil
}

// A LineError is a reading error at a line.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }
