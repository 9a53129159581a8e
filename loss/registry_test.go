package loss

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	l, s, err := Parse("kd:temperature=4")
	if err != nil || l.Name() != "kd" || s.Needs != NeedsTeacher || l.(*KD).t != 4 {
		t.Fatalf("%v %v %v", l, s, err)
	}
	l, _, err = Parse("cross-entropy:label_smoothing=0.1,z_loss=1e-4,soft_cap=30", WithReduction(Sum))
	if err != nil {
		t.Fatal(err)
	}
	if o := l.(*CrossEntropy).Options(); o.LabelSmoothing != 0.1 || o.ZLoss != 1e-4 || o.SoftCap != 30 || o.Reduction != Sum {
		t.Fatalf("parsed cross-entropy options %+v", o)
	}
	if _, _, err := Parse("cross-entropy:label_smoothing=2"); !errors.Is(err, ErrValue) {
		t.Fatalf("smoothing 2: %v", err)
	}
	for _, bad := range []struct{ text, mention string }{
		{"no-such-loss", "cross-entropy"},
		{"kd:temp=4", "temperature=1"},
		{"kd:temperature=abc", "not a number"},
		{"kd:temperature", "temperature"},
		{"kd:temperature=-1", "temperature"},
	} {
		_, _, err := Parse(bad.text)
		if err == nil || !strings.Contains(err.Error(), bad.mention) {
			t.Errorf("%q: err %v, want one mentioning %q", bad.text, err, bad.mention)
		}
	}
	for _, s := range Specs() {
		if s.Name == "" || s.Summary == "" || s.New == nil && s.NewLists == nil {
			t.Errorf("incomplete spec %+v", s)
		}
	}
}

// TestParseFailureIsNilInterface: a failed Parse returns a nil interface
// (not a typed nil that compares unequal to nil) and an error wrapping
// ErrValue, whether the name, a parameter or the constructor fails.
func TestParseFailureIsNilInterface(t *testing.T) {
	for _, text := range []string{"no-such-loss", "kd:temp=4", "kd:temperature=abc", "kd:temperature=-1", "poly1:epsilon=-5", "focal:gamma=-1"} {
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
