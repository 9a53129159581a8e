package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xentlab/xent/npy"
)

// TestEvalUnbatched: logits of shape [C] are one example, as in PyTorch:
// a label of shape [] or [1], a soft target [C] or a teacher [C] goes
// with them, the loss is that row's, and the gradient has shape [C].
func TestEvalUnbatched(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float64{1, 2, 3}, 3)
	lse := math.Log(math.E + math.Exp(2) + math.Exp(3))
	p := []float64{math.Exp(1 - lse), math.Exp(2 - lse), math.Exp(3 - lse)}
	soft := []float64{0.25, 0.25, 0.5}
	softLoss := lse - (0.25*1 + 0.25*2 + 0.5*3)
	for _, c := range []struct {
		name   string
		target string
		want   float64
		grad   []float64
		extra  []string
	}{
		{"label []", writeNPY(t, dir, "y0.npy", []int64{2}), lse - 3, []float64{p[0], p[1], p[2] - 1}, nil},
		{"label [1]", writeNPY(t, dir, "y1.npy", []int32{2}, 1), lse - 3, []float64{p[0], p[1], p[2] - 1}, nil},
		{"label [1] sum", writeNPY(t, dir, "y1b.npy", []int32{0}, 1), lse - 1, []float64{p[0] - 1, p[1], p[2]}, []string{"--reduction", "sum"}},
		{"soft [C]", writeNPY(t, dir, "s.npy", soft, 3), softLoss, []float64{p[0] - soft[0], p[1] - soft[1], p[2] - soft[2]}, nil},
	} {
		grad := filepath.Join(dir, "g.npy")
		args := append([]string{"eval", "--logits", logits, "--targets", c.target, "--json", "--grad", grad}, c.extra...)
		code, out, errs := runCLI(t, args...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", c.name, code, errs)
			continue
		}
		var res struct {
			Loss       float64
			Rows, Cols int
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v %s", c.name, err, out)
		}
		if math.Abs(res.Loss-c.want) > 1e-12 || res.Rows != 1 || res.Cols != 3 {
			t.Errorf("%s: %+v, want loss %v over 1 row of 3", c.name, res, c.want)
		}
		g, h, err := npy.ReadFile[float64](grad)
		if err != nil || len(h.Shape) != 1 || h.Shape[0] != 3 {
			t.Fatalf("%s: grad %v %v", c.name, h.Shape, err)
		}
		for j := range g {
			if math.Abs(g[j]-c.grad[j]) > 1e-12 {
				t.Errorf("%s: grad %v, want %v", c.name, g, c.grad)
				break
			}
		}
	}

	// A teacher [C] for distillation: the student against itself is 0.
	code, out, errs := runCLI(t, "eval", "--logits", logits, "--teacher", logits, "--loss", "kd", "--json")
	if code != 0 || !strings.Contains(out, `"loss":0,`) {
		t.Errorf("kd on [C]: exit %d %s %s", code, out, errs)
	}
	// Batched logits [1, C] give the same bits as [C].
	batched := writeNPY(t, dir, "b.npy", []float64{1, 2, 3}, 1, 3)
	_, a, _ := runCLI(t, "eval", "--logits", logits, "--targets", filepath.Join(dir, "y0.npy"), "--json")
	_, b, _ := runCLI(t, "eval", "--logits", batched, "--targets", filepath.Join(dir, "y1.npy"), "--json")
	if a == "" || a != b {
		t.Errorf("[C] %s vs [1, C] %s", a, b)
	}
}

func TestEvalUnbatchedErrors(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3}, 3)
	for _, c := range []struct {
		target  string
		mention string
	}{
		{writeNPY(t, dir, "y2.npy", []int64{0, 1}, 2), "want [] or [1]"},
		{writeNPY(t, dir, "yb.npy", []int64{3}), "outside"},
		{writeNPY(t, dir, "s2.npy", []float32{0.5, 0.5}, 2), "[3]"},
		{writeNPY(t, dir, "f0.npy", []float64{2}), "want integers"},
		{writeNPY(t, dir, "f1.npy", []float32{2}, 1), "want integers"},
	} {
		code, out, errs := runCLI(t, "eval", "--logits", logits, "--targets", c.target)
		if code != 1 || out != "" || !strings.Contains(errs, c.mention) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want 1 mentioning %q", filepath.Base(c.target), code, errs, c.mention)
		}
	}
}

// TestFloatLabelsSameError: float labels get the same "dtype ..., want
// integers" error from eval as from calibrate.
func TestFloatLabelsSameError(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	labels := writeNPY(t, dir, "y.npy", []float64{0, 2}, 2)
	_, _, ev := runCLI(t, "eval", "--logits", logits, "--targets", labels)
	_, _, ca := runCLI(t, "calibrate", "--logits", logits, "--targets", labels)
	want := "targets " + labels + ": dtype "
	for _, e := range []string{ev, ca} {
		if !strings.Contains(e, want) || !strings.Contains(e, "want integers") {
			t.Errorf("stderr %q, want %q ... want integers", e, want)
		}
	}
}

// FuzzEvalUnbatched runs class losses on arbitrary logit vectors [C] with
// a label of shape [] or [1], or a soft target [C]: a gradient file of
// the logits' shape on success, otherwise one line and no file.
func FuzzEvalUnbatched(f *testing.F) {
	f.Add(uint8(0), []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}, int64(1), uint8(0))
	f.Add(uint8(1), []byte{0, 0, 0xc0, 0x7f}, int64(0), uint8(1))
	f.Add(uint8(2), []byte{}, int64(0), uint8(0))
	f.Add(uint8(3), []byte{0, 0, 0x80, 0xff, 1, 2, 3, 4}, int64(-100), uint8(2))
	f.Add(uint8(4), []byte{1, 2, 3, 4, 5, 6, 7, 8}, int64(7), uint8(1))
	names := []string{"cross-entropy", "focal", "poly1", "sce-labels", "gce", "kd"}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte, label int64, form uint8) {
		dir := t.TempDir()
		var x []float32
		for len(raw) >= 4 {
			x = append(x, math.Float32frombits(binary.LittleEndian.Uint32(raw)))
			raw = raw[4:]
		}
		logits := writeNPY(t, dir, "l.npy", x, len(x))
		var target string
		switch form % 3 {
		case 0:
			target = writeNPY(t, dir, "y.npy", []int64{label})
		case 1:
			target = writeNPY(t, dir, "y.npy", []int64{label}, 1)
		default:
			soft := make([]float32, len(x))
			for i := range soft {
				soft[i] = 1 / float32(len(x))
			}
			target = writeNPY(t, dir, "y.npy", soft, len(soft))
		}
		name := names[int(which)%len(names)]
		flag := "--targets"
		if name == "kd" {
			flag, target = "--teacher", logits
		}
		grad := filepath.Join(dir, "g.npy")
		code, _, errs := runCLI(t, "eval", "--loss", name, "--logits", logits, flag, target, "--grad", grad, "--json")
		_, statErr := os.Stat(grad)
		switch code {
		case 0:
			g, h, err := npy.ReadFile[float32](grad)
			if err != nil || len(h.Shape) != 1 || len(g) != len(x) {
				t.Fatalf("gradient file %v %v", h, err)
			}
		case 1, 2:
			if !os.IsNotExist(statErr) || errs == "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Fatalf("exit %d: file %v, stderr %q", code, statErr, errs)
			}
		default:
			t.Fatalf("exit %d", code)
		}
	})
}
