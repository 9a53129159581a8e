package main

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xentlab/xent/npy"
)

// ctcLogits is a [T = 3, N = 2, C = 4] batch; with targets [[1, 3], [2, _]]
// and target lengths [2, 1] PyTorch 1.13 gives (float64,
// F.ctc_loss(F.log_softmax(x, 2), ..., reduction="sum")) the loss and the
// gradient below.
var (
	ctcLogits = []float64{
		0.5, -1, 2, 0.25, 1, 0, -0.5, 0.75,
		-0.25, 1.5, 0, 1, 0.5, 0.5, 2, -1,
		1, 0, 0.5, -2, -1, 1, 0, 0.25,
	}
	ctcTorchLoss = 7.151571277962338
	ctcTorchGrad = []float64{
		-0.08874774811228921, -0.7226029853374271, 0.6912325307415297, 0.12011820270818666,
		-0.40903916796549383, 0.1552358127867424, -0.0748308630696643, 0.32863421824841565,
		0.07731655265856048, 0.20194346743203873, 0.11137380873815643, -0.39063382882875564,
		0.023034828013885716, 0.1491464520703329, -0.20546035182024208, 0.03327907173602348,
		-0.16647209321863035, 0.18174091277254148, 0.29964010864454577, -0.3149089281984569,
		-0.1760873481200386, 0.5061801362296187, -0.5691953541263423, 0.23910256601676216,
	}
)

func TestEvalCTC(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", ctcLogits, 3, 2, 4)
	targets := writeNPY(t, dir, "y.npy", []int64{1, 3, 2, -1}, 2, 2)
	il := writeNPY(t, dir, "il.npy", []int32{3, 3}, 2)
	tl := writeNPY(t, dir, "tl.npy", []int64{2, 1}, 2)
	grad := filepath.Join(dir, "g.npy")
	code, out, errs := runCLI(t, "eval", "--loss", "ctc", "--logits", logits, "--targets", targets,
		"--input-lengths", il, "--target-lengths", tl, "--reduction", "sum", "--grad", grad, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	res := decodeJSON(t, out)
	if got := res["loss"].(float64); math.Abs(got-ctcTorchLoss) > 1e-9 {
		t.Errorf("loss %v, PyTorch %v", got, ctcTorchLoss)
	}
	if res["frames"].(float64) != 3 || res["batch"].(float64) != 2 || res["classes"].(float64) != 4 {
		t.Errorf("result %v", res)
	}
	g, h, err := npy.ReadFile[float32](grad)
	if err != nil || len(h.Shape) != 3 || h.Shape[0] != 3 || h.Shape[1] != 2 || h.Shape[2] != 4 {
		t.Fatalf("grad file: %v %v", h, err)
	}
	for i, want := range ctcTorchGrad {
		if math.Abs(float64(g[i])-want) > 1e-6 {
			t.Fatalf("grad[%d] = %v, PyTorch %v", i, g[i], want)
		}
	}
	// The same batch with concatenated targets, float32 logits, mean.
	l32 := make([]float32, len(ctcLogits))
	for i, v := range ctcLogits {
		l32[i] = float32(v)
	}
	logits32 := writeNPY(t, dir, "l32.npy", l32, 3, 2, 4)
	cat := writeNPY(t, dir, "cat.npy", []int32{1, 3, 2}, 3)
	code, out, errs = runCLI(t, "eval", "--loss", "ctc", "--logits", logits32, "--targets", cat,
		"--target-lengths", tl, "--reduction", "none", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rows := decodeJSON(t, out)["loss"].([]any)
	if len(rows) != 2 || math.Abs(rows[0].(float64)+rows[1].(float64)-ctcTorchLoss) > 1e-5 {
		t.Errorf("rows %v, want a sum of %v", rows, ctcTorchLoss)
	}
	// One sequence as [T, C] with an impossible target: +Inf, and 0 with
	// zero_infinity.
	one := writeNPY(t, dir, "one.npy", ctcLogits[:12], 3, 4)
	long := writeNPY(t, dir, "long.npy", []int64{1, 1, 1}, 3)
	code, out, errs = runCLI(t, "eval", "--loss", "ctc", "--logits", one, "--targets", long, "--json")
	if code != 0 || !strings.Contains(out, `"loss":"+Inf"`) {
		t.Errorf("impossible alignment: exit %d, %s %s", code, out, errs)
	}
	code, out, errs = runCLI(t, "eval", "--loss", "ctc:zero_infinity=1", "--logits", one, "--targets", long, "--json")
	if code != 0 || !strings.Contains(out, `"loss":0`) {
		t.Errorf("zero_infinity: exit %d, %s %s", code, out, errs)
	}
	code, out, _ = runCLI(t, "eval", "--loss", "ctc:blank=3", "--logits", one, "--targets", writeNPY(t, dir, "b.npy", []int64{0, 2}, 2))
	if code != 0 || !strings.Contains(out, "loss ") || !strings.Contains(out, "ctc, mean over 1 sequences") {
		t.Errorf("text output: exit %d, %q", code, out)
	}
}

func TestEvalCTCErrors(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", ctcLogits, 3, 2, 4)
	targets := writeNPY(t, dir, "y.npy", []int64{1, 3, 2, -1}, 2, 2)
	tl := writeNPY(t, dir, "tl.npy", []int64{2, 1}, 2)
	floatTargets := writeNPY(t, dir, "f.npy", []float32{1, 3, 2, 1}, 2, 2)
	short := writeNPY(t, dir, "s.npy", []int64{3}, 1)
	wide := writeNPY(t, dir, "w.npy", []int64{1, 2, 3}, 3, 1)
	four := writeNPY(t, dir, "four.npy", make([]float32, 16), 2, 2, 2, 2)
	weights := writeNPY(t, dir, "cw.npy", []float32{1, 1, 1, 1}, 4)
	plain := writeNPY(t, dir, "p.npy", []float32{1, 2}, 1, 2)
	labels := writeNPY(t, dir, "lab.npy", []int64{0}, 1)
	grad := filepath.Join(dir, "g.npy")
	cases := []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"--logits", logits}, 2, "--targets"},
		{[]string{"--logits", logits, "--targets", floatTargets}, 1, "integers"},
		{[]string{"--logits", logits, "--targets", targets, "--target-lengths", short}, 1, "[2]"},
		{[]string{"--logits", logits, "--targets", targets, "--input-lengths", short}, 1, "input-lengths"},
		{[]string{"--logits", logits, "--targets", targets, "--input-lengths", floatTargets}, 1, "integers"},
		{[]string{"--logits", logits, "--targets", wide}, 1, "[2, S]"},
		{[]string{"--logits", logits, "--targets", writeNPY(t, dir, "c.npy", []int64{1, 2}, 2)}, 2, "--target-lengths"},
		{[]string{"--logits", four, "--targets", targets}, 1, "[T, N, C]"},
		{[]string{"--logits", logits, "--targets", targets, "--weights", weights}, 2, "--weights"},
		{[]string{"--logits", logits, "--targets", targets, "--reduction", "avg"}, 2, "reduction"},
		{[]string{"--logits", logits, "--targets", writeNPY(t, dir, "bl.npy", []int64{0, 1, 1, 1}, 2, 2), "--grad", grad}, 1, "blank"},
		{[]string{"--logits", logits, "--targets", targets, "--target-lengths", writeNPY(t, dir, "tl3.npy", []int64{3, 1}, 2)}, 1, "target length 3"},
		{[]string{"--logits", logits, "--targets", targets, "--loss", "ctc:blank=9"}, 1, "blank"},
		{[]string{"--logits", logits, "--targets", targets, "--loss", "ctc:zero_infinity=2"}, 2, "zero_infinity"},
	}
	for _, c := range cases {
		args := append([]string{"eval", "--loss", "ctc"}, c.args...)
		code, _, errs := runCLI(t, args...)
		if code != c.code || !strings.Contains(errs, c.mention) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q in one line", c.args, code, errs, c.code, c.mention)
		}
	}
	// The sequence flags belong to sequence losses.
	for _, args := range [][]string{
		{"eval", "--logits", plain, "--targets", labels, "--input-lengths", tl},
		{"eval", "--logits", plain, "--targets", labels, "--target-lengths", tl},
		{"eval", "--embeddings", plain, "--loss", "infonce", "--input-lengths", tl},
	} {
		if code, _, errs := runCLI(t, args...); code != 2 || !strings.Contains(errs, "sequence losses") {
			t.Errorf("%v: exit %d, %s", args, code, errs)
		}
	}
	if _, err := os.Stat(grad); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s", grad)
	}
}

// FuzzEvalCTC writes arbitrary logits, targets and lengths to .npy files
// and runs "xent eval --loss ctc" on them: the command exits 0 with a
// gradient file, or 1 or 2 with one line on stderr and no file — never a
// panic.
func FuzzEvalCTC(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint8(4), uint8(2), false, []byte{3, 3, 2, 1}, []byte{1, 3, 2, 0}, []byte{}, uint8(0))
	f.Add(uint8(1), uint8(1), uint8(2), uint8(0), true, []byte{}, []byte{1, 1}, []byte{0, 0, 0x80, 0x7f}, uint8(1))
	f.Add(uint8(2), uint8(2), uint8(3), uint8(1), false, []byte{2, 9, 1, 1}, []byte{2, 2}, []byte{0, 0, 0xc0, 0x7f}, uint8(2))
	f.Add(uint8(0), uint8(0), uint8(0), uint8(0), false, []byte{}, []byte{}, []byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, tt, n, c, s uint8, oneD bool, lens, targets, raw []byte, blank uint8) {
		tt, n, c, s = tt%6, n%4, c%6, s%4
		dir := t.TempDir()
		x := make([]float32, int(tt)*int(n)*int(c))
		for i := range x {
			x[i] = float32(i%5) - 2
			if 4*i+4 <= len(raw) {
				x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		}
		logits := writeNPY(t, dir, "l.npy", x, int(tt), int(n), int(c))
		tg := make([]int64, len(targets))
		for i, v := range targets {
			tg[i] = int64(v) - 1
		}
		var tpath string
		if oneD {
			tpath = writeNPY(t, dir, "y.npy", tg, len(tg))
		} else {
			tg = append(tg, make([]int64, int(n)*int(s))...)[:int(n)*int(s)]
			tpath = writeNPY(t, dir, "y.npy", tg, int(n), int(s))
		}
		args := []string{"eval", "--loss", "ctc:blank=" + string(rune('0'+blank%4)), "--logits", logits, "--targets", tpath}
		if len(lens) >= 2*int(n) {
			il, tl := make([]int64, n), make([]int64, n)
			for i := range il {
				il[i], tl[i] = int64(lens[2*i]), int64(lens[2*i+1])
			}
			args = append(args, "--input-lengths", writeNPY(t, dir, "il.npy", il, int(n)),
				"--target-lengths", writeNPY(t, dir, "tl.npy", tl, int(n)))
		}
		grad := filepath.Join(dir, "g.npy")
		args = append(args, "--grad", grad, "--json")
		code, out, errs := runCLI(t, args...)
		_, statErr := os.Stat(grad)
		switch code {
		case 0:
			if statErr != nil || !strings.HasPrefix(out, "{") {
				t.Fatalf("exit 0 without a gradient file or JSON: %v %q", statErr, out)
			}
		case 1, 2:
			if !os.IsNotExist(statErr) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
				t.Fatalf("exit %d: file %v, stderr %q", code, statErr, errs)
			}
		default:
			t.Fatalf("exit %d", code)
		}
	})
}
