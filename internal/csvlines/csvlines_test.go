package csvlines

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestEach(t *testing.T) {
	in := "\ufeff a , b\n\n# comment\n1,2 ,3\n  \nx\n"
	var got []string
	err := Each(strings.NewReader(in), func(line int, f []string) error {
		got = append(got, fmt.Sprintf("%d:%q", line, f))
		return nil
	})
	want := []string{`1:["a" "b"]`, `4:["1" "2" "3"]`, `6:["x"]`}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
	stop := errors.New("stop")
	if err := Each(strings.NewReader("a\nb\n"), func(int, []string) error { return stop }); err != stop {
		t.Fatalf("fn's error: got %v", err)
	}
	long := "x\n" + strings.Repeat("y", MaxLine+1) + "\n"
	err = Each(strings.NewReader(long), func(int, []string) error { return nil })
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || !strings.Contains(err.Error(), "longer than 1 MiB") {
		t.Fatalf("overlong line: %v", err)
	}
}

func FuzzEach(f *testing.F) {
	f.Add("step,loss\n1,2\n")
	f.Add("\ufeff# x\n,,\n")
	f.Fuzz(func(t *testing.T, s string) {
		_ = Each(strings.NewReader(s), func(line int, fields []string) error {
			if line < 1 || len(fields) == 0 {
				t.Fatalf("line %d, %d fields", line, len(fields))
			}
			return nil
		})
	})
}
