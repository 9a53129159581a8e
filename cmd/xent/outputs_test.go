package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xentlab/xent/npy"
)

// TestOutputIsInputRefused: an output that is the same file as an input
// (by name, hard link or symbolic link) is refused before any work, and
// the input is left as it was.
func TestOutputIsInputRefused(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3, 0, 0, 0}, 2, 3)
	labels := writeNPY(t, dir, "y.npy", []int64{2, 0}, 2)
	hard := filepath.Join(dir, "hard.npy")
	if err := os.Link(logits, hard); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "sym.npy")
	if err := os.Symlink("y.npy", sym); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, p := range []string{logits, labels} {
		before[p], _ = os.ReadFile(p)
	}
	base := []string{"eval", "--logits", logits, "--targets", labels}
	// Plots too: a plot path that is another name of an input.
	png := filepath.Join(dir, "l.png")
	if err := os.Link(logits, png); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "curve.csv")
	if err := os.WriteFile(data, []byte("n,loss\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dataPNG := filepath.Join(dir, "curve.png")
	if err := os.Symlink("curve.csv", dataPNG); err != nil {
		t.Fatal(err)
	}
	before[data], _ = os.ReadFile(data)
	checkErrors(t, []errorCase{
		{append(base, "--grad", logits), 2, "--logits"},
		{append(base, "--grad", hard), 2, "--logits"},
		{append(base, "--lse", labels), 2, "--targets"},
		{append(base, "--lse", sym), 2, "--targets"},
		{append(base, "--grad", filepath.Join(dir, "g.npy"), "--lse", filepath.Join(dir, "g.npy")), 2, "same output"},
		{[]string{"calibrate", "--logits", logits, "--targets", labels, "--plot", png}, 2, "--logits"},
		{[]string{"fit", "--law", "power", "--data", data, "--plot", dataPNG}, 2, "--data"},
	})
	for p, b := range before {
		if got, _ := os.ReadFile(p); !bytes.Equal(got, b) {
			t.Errorf("%s was changed", p)
		}
	}
}

// TestGradKeepsFileSafe: --grad onto a symbolic link writes the file it
// points to, and an existing private file stays private.
func TestGradKeepsFileSafe(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3, 0, 0, 0}, 2, 3)
	labels := writeNPY(t, dir, "y.npy", []int64{2, 0}, 2)
	real := filepath.Join(dir, "real.npy")
	if err := os.WriteFile(real, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "g.npy")
	if err := os.Symlink("real.npy", link); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "eval", "--logits", logits, "--targets", labels, "--grad", link); code != 0 {
		t.Fatal(errs)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("--grad replaced the symbolic link: %v %v", st.Mode(), err)
	}
	st, err := os.Stat(real)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the private file became %v (%v)", st.Mode().Perm(), err)
	}
	if g, _, err := npy.ReadFile[float32](real); err != nil || len(g) != 6 {
		t.Errorf("gradient not written through the link: %v %v", g, err)
	}
}

// TestGradPrecision: the gradient and log-sum-exp files take the inputs'
// precision: float64 logits give float64 outputs holding the float64
// result (float32 would lose it), float32 give float32; --grad-dtype
// overrides.
func TestGradPrecision(t *testing.T) {
	dir := t.TempDir()
	// Row 0: logits 0, 1e-9 (a difference float32 cannot hold); row 1: 0, 0.
	x := []float64{0, 1e-9, 0.3, 0, 0, 0}
	logits := writeNPY(t, dir, "l64.npy", x, 2, 3)
	labels := writeNPY(t, dir, "y.npy", []int64{0, 2}, 2)
	grad, lse := filepath.Join(dir, "g.npy"), filepath.Join(dir, "lse.npy")
	if code, _, errs := runCLI(t, "eval", "--logits", logits, "--targets", labels, "--grad", grad, "--lse", lse); code != 0 {
		t.Fatal(errs)
	}
	for _, p := range []string{grad, lse} {
		h, err := npy.ReadFileHeader(p)
		if err != nil || h.DType.String() != "<f8" {
			t.Fatalf("%s: dtype %v (%v), want <f8", p, h.DType, err)
		}
	}
	g, _, _ := npy.ReadFile[float64](grad)
	l, _, _ := npy.ReadFile[float64](lse)
	// Reference in float64 from the definition: ∂/∂z_j = (p_j − 1[j=y])/2.
	for r := 0; r < 2; r++ {
		row := x[3*r : 3*r+3]
		var s float64
		for _, v := range row {
			s += math.Exp(v)
		}
		if want := math.Log(s); math.Abs(l[r]-want) > 1e-15 {
			t.Errorf("lse[%d] = %.17g, want %.17g", r, l[r], want)
		}
		y := []int{0, 2}[r]
		for j, v := range row {
			want := math.Exp(v) / s
			if j == y {
				want--
			}
			want /= 2
			if math.Abs(g[3*r+j]-want) > 1e-16 {
				t.Errorf("grad[%d,%d] = %.17g, want %.17g", r, j, g[3*r+j], want)
			}
		}
	}
	// The gradient entries 0 and 1 of row 0 differ by about 1e-10 in
	// float64; rounded to float32 they could not.
	if g[0] == g[1] {
		t.Error("the float64 gradient lost the difference between the first two logits")
	}
	if code, _, errs := runCLI(t, "eval", "--logits", logits, "--targets", labels, "--grad", grad, "--grad-dtype", "float32"); code != 0 {
		t.Fatal(errs)
	}
	if h, _ := npy.ReadFileHeader(grad); h.DType.String() != "<f4" {
		t.Errorf("--grad-dtype float32 wrote %v", h.DType)
	}
	l32 := writeNPY(t, dir, "l32.npy", []float32{0, 1, 0.3, 0, 0, 0}, 2, 3)
	if code, _, errs := runCLI(t, "eval", "--logits", l32, "--targets", labels, "--grad", grad); code != 0 {
		t.Fatal(errs)
	}
	if h, _ := npy.ReadFileHeader(grad); h.DType.String() != "<f4" {
		t.Errorf("float32 logits gave a %v gradient", h.DType)
	}
	checkErrors(t, []errorCase{{[]string{"eval", "--logits", l32, "--targets", labels, "--grad", grad, "--grad-dtype", "half"}, 2, "--grad-dtype"}})
}

// TestEvalFromPipes: inputs are opened once, so named pipes (and
// /dev/stdin) work as --logits and --targets.
func TestEvalFromPipes(t *testing.T) {
	dir := t.TempDir()
	var lb, yb bytes.Buffer
	if err := npy.Write(&lb, []float32{1, 2, 3, 0, 0, 0}, 2, 3); err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(&yb, []int64{2, 0}, 2); err != nil {
		t.Fatal(err)
	}
	lp, yp := filepath.Join(dir, "logits.fifo"), filepath.Join(dir, "labels.fifo")
	for _, p := range []string{lp, yp} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skip("no named pipes:", err)
		}
	}
	feed := func(p string, b []byte) {
		// Open without blocking forever if the reader never comes.
		for range 200 {
			f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err == nil {
				syscall.SetNonblock(int(f.Fd()), false)
				f.Write(b)
				f.Close()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	go feed(lp, lb.Bytes())
	go feed(yp, yb.Bytes())
	done := make(chan struct{})
	var code int
	var out, errs string
	go func() {
		code, out, errs = runCLI(t, "eval", "--logits", lp, "--targets", yp, "--json")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("eval on pipes did not finish")
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	res := decodeJSON(t, out)
	want := (math.Log(math.E+math.Exp(2)+math.Exp(3)) - 3 + math.Log(3)) / 2
	if got := res["loss"].(float64); math.Abs(got-want) > 1e-6 {
		t.Errorf("loss %v, want %v", got, want)
	}
	if !strings.Contains(out, `"rows":2`) {
		t.Errorf("output %s", out)
	}
}
