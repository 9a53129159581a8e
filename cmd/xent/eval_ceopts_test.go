package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestEvalCrossEntropyFlags: cross-entropy's own flags reach it, equal its
// registry parameters, and are usage errors with any other loss.
func TestEvalCrossEntropyFlags(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	labels := writeNPY(t, dir, "y.npy", []int64{0, 2}, 2)
	pw := writeNPY(t, dir, "pw.npy", []float32{1, 2, 3}, 3)
	value := func(args ...string) float64 {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"eval", "--logits", logits, "--targets", labels, "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var res struct{ Loss float64 }
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v: %v in %q", args, err, out)
		}
		return res.Loss
	}
	plain := value()
	flags := value("--z-loss", "0.25", "--label-smoothing", "0.1")
	params := value("--loss", "cross-entropy:z_loss=0.25,label_smoothing=0.1")
	if flags != params || flags == plain {
		t.Errorf("flags give %v, parameters %v, neither %v", flags, params, plain)
	}
	targets := writeNPY(t, dir, "t.npy", []float32{1, 0, 1, 0, 0, 1}, 2, 3)
	bce := func(args ...string) string {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"eval", "--logits", logits, "--targets", targets, "--loss", "bce", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("bce %v: exit %d: %s", args, code, errs)
		}
		return out
	}
	if bce() == bce("--pos-weight", pw) {
		t.Error("--pos-weight did not change bce")
	}
	for _, c := range []struct {
		args    []string
		mention string
	}{
		{[]string{"--loss", "focal", "--z-loss", "1"}, "cross-entropy only"},
		{[]string{"--loss", "nll", "--softcap", "5"}, "cross-entropy only"},
		{[]string{"--loss", "cross-entropy:z_loss=1", "--label-smoothing", "0.1"}, "not both"},
		{[]string{"--pos-weight", pw}, "bce only"},
	} {
		code, _, errs := runCLI(t, append([]string{"eval", "--logits", logits, "--targets", labels}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.mention) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, errs, c.mention)
		}
	}
}
