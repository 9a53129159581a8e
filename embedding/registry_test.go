package embedding

import (
	"errors"
	"testing"
)

// TestParseFailureIsNilInterface: a failed Parse returns a nil interface
// and an error wrapping ErrValue, whether the name, a parameter or the
// constructor fails.
func TestParseFailureIsNilInterface(t *testing.T) {
	for _, text := range []string{"no-such-loss", "infonce:tau=1", "infonce:temperature=x", "infonce:temperature=-1",
		"infonce:symmetric=2", "ngame-triplet:k=0.5", "cacr:alpha=-1"} {
		l, _, err := Parse(text)
		if err == nil {
			t.Fatalf("%q: no error", text)
		}
		if l != nil {
			t.Errorf("%q: Parse returned %#v (a non-nil interface) with error %v", text, l, err)
		}
		if !errors.Is(err, ErrValue) {
			t.Errorf("%q: %v does not wrap ErrValue", text, err)
		}
	}
}
