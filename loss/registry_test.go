package loss

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	l, s, err := Parse("kd:temperature=4")
	if err != nil || l.Name() != "kd" || s.Needs != NeedsTeacher || l.(*KD).t != 4 {
		t.Fatalf("%v %v %v", l, s, err)
	}
	if _, _, err := Parse("cross-entropy", WithLabelSmoothing(0.1)); err != nil {
		t.Fatal(err)
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
