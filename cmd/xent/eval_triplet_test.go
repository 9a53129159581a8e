package main

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalTriplet(t *testing.T) {
	dir := t.TempDir()
	// PyTorch: triplet_margin_loss on these rows is 0.1414 each.
	a := writeNPY(t, dir, "a.npy", []float64{0, 0, 1, 1}, 2, 2)
	p := writeNPY(t, dir, "p.npy", []float64{0.1, 0.1, 1.1, 1.1}, 2, 2)
	n := writeNPY(t, dir, "n.npy", []float64{1, 0, 0, 1}, 2, 2)
	grad := filepath.Join(dir, "g.npy")
	code, out, errs := runCLI(t, "eval", "--loss", "triplet-margin", "--embeddings", a, "--positives", p, "--negatives", n, "--grad", grad, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got := decodeJSON(t, out)["loss"].(float64); math.Abs(got-0.14142) > 1e-4 {
		t.Errorf("loss %v, PyTorch 0.1414", got)
	}
	if _, err := os.Stat(grad); err != nil {
		t.Error(err)
	}
	short := writeNPY(t, dir, "s.npy", []float64{1, 0}, 1, 2)
	cases := []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"--loss", "triplet-margin", "--embeddings", a, "--positives", p}, 2, "--negatives"},
		{[]string{"--loss", "triplet-margin", "--embeddings", a, "--positives", p, "--negatives", short}, 1, "[2, 2]"},
		{[]string{"--loss", "infonce", "--embeddings", a, "--positives", p, "--negatives", n}, 2, "does not take --negatives"},
		{[]string{"--logits", a, "--targets", n, "--negatives", n}, 2, "--negatives"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(t, append([]string{"eval"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.mention) {
			t.Errorf("%v: exit %d, %q; want %d mentioning %q", c.args, code, errs, c.code, c.mention)
		}
	}
}

// FuzzEvalTriplet writes arbitrary anchors, positives and negatives (with
// shapes that may disagree) and runs the triplet loss on them: exit 0, 1
// or 2, one line on stderr on failure, never a panic.
func FuzzEvalTriplet(f *testing.F) {
	f.Add(uint8(2), uint8(2), uint8(2), []byte{0, 0, 0x80, 0x3f}, "swap=1")
	f.Add(uint8(1), uint8(3), uint8(2), []byte{0, 0, 0xc0, 0x7f}, "p=1")
	f.Add(uint8(0), uint8(0), uint8(0), []byte{}, "")
	f.Add(uint8(3), uint8(3), uint8(3), []byte{0, 0, 0x80, 0x7f, 1, 2, 3, 4}, "p=0.5")
	f.Fuzz(func(t *testing.T, n, nn, d uint8, raw []byte, params string) {
		n, nn, d = n%4, nn%4, d%4
		dir := t.TempDir()
		mk := func(name string, rows int, off int) string {
			x := make([]float32, rows*int(d))
			for i := range x {
				x[i] = float32((i+off)%7) - 3
				if k := 4 * (i + off); k+4 <= len(raw) {
					x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[k:]))
				}
			}
			return writeNPY(t, dir, name, x, rows, int(d))
		}
		spec := "triplet-margin"
		if params != "" {
			spec += ":" + params
		}
		code, _, errs := runCLI(t, "eval", "--loss", spec, "--embeddings", mk("a.npy", int(n), 0),
			"--positives", mk("p.npy", int(n), 1), "--negatives", mk("n.npy", int(nn), 2), "--json")
		switch code {
		case 0:
		case 1, 2:
			if strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
				t.Fatalf("exit %d: stderr %q", code, errs)
			}
		default:
			t.Fatalf("exit %d", code)
		}
	})
}
