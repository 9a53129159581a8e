package clip

import (
	"strconv"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `""`},
		{"abc", `"abc"`},
		{"a\nb", `"a\nb"`},
		{strings.Repeat("x", Max), `"` + strings.Repeat("x", Max) + `"`},
		{strings.Repeat("x", Max+1), `"` + strings.Repeat("x", Max) + `"… (41 bytes)`},
		// A multi-byte character across the cut is left out whole.
		{strings.Repeat("x", Max-1) + "é" + "yz", `"` + strings.Repeat("x", Max-1) + `"… (43 bytes)`},
	}
	for _, c := range cases {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%.50q) = %s, want %s", c.in, got, c.want)
		}
	}
	if got := Quote(strings.Repeat("y", 300<<20)); len(got) > 80 {
		t.Errorf("a 300 MB text quoted in %d bytes", len(got))
	}
}

func FuzzQuote(f *testing.F) {
	f.Add("hello")
	f.Add(strings.Repeat("é", 30))
	f.Add("\xff\xfe" + strings.Repeat("z", 60))
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		if len(q) > 4*Max+40 {
			t.Fatalf("Quote of %d bytes is %d bytes", len(s), len(q))
		}
		if len(s) <= Max && q != strconv.Quote(s) {
			t.Fatalf("short text not quoted whole: %s", q)
		}
		if len(s) > Max && !strings.HasSuffix(q, " bytes)") {
			t.Fatalf("long text quoted without its length: %s", q)
		}
	})
}
