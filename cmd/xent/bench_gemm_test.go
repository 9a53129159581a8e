package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBenchGemmOpenBLAS runs "xent bench gemm --baseline openblas" with a
// stand-in for the OpenBLAS program (a script that checks its arguments
// and environment and reports 2 ms), and checks the errors when the
// program is missing or prints nonsense.
func TestBenchGemmOpenBLAS(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in is a shell script")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "xent-openblas")
	script := `#!/bin/sh
[ "$OPENBLAS_NUM_THREADS" = 2 ] || { echo "threads $OPENBLAS_NUM_THREADS" >&2; exit 3; }
[ -z "$OPENBLAS_CORETYPE" ] || { echo "coretype set" >&2; exit 3; }
[ "$*" = "-m 40 -n 30 -k 20 -threads 2 -reps 2 -transb" ] || { echo "args $*" >&2; exit 3; }
echo '{"op":"gemm","seconds":0.002}'
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XENT_OPENBLAS", fake)
	t.Setenv("OPENBLAS_CORETYPE", "Haswell")
	code, out, errs := runCLI(t, "bench", "gemm", "--m", "40", "--n", "30", "--k", "20", "--transb", "--threads", "2",
		"--reps", "2", "--rounds", "3", "--baseline", "openblas", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%q", out)
	}
	if res["baseline"] != "openblas" || res["baseline_s"] != 0.002 || res["rounds"] != 3.0 {
		t.Errorf("report %s", out)
	}
	if want := 2 * 40 * 30 * 20 / 0.002 / 1e9; math.Abs(res["baseline_gflops"].(float64)-want) > 1e-9*want {
		t.Errorf("baseline_gflops %v, want %v", res["baseline_gflops"], want)
	}
	// A program that prints nonsense, and one that does not exist.
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("#!/bin/sh\necho hello\n"), 0o755)
	for _, prog := range []string{bad, filepath.Join(dir, "missing")} {
		t.Setenv("XENT_OPENBLAS", prog)
		code, _, errs := runCLI(t, "bench", "gemm", "--m", "4", "--n", "4", "--k", "4", "--baseline", "openblas", "--rounds", "1")
		if code == 0 || !strings.Contains(errs, prog) {
			t.Errorf("%s: exit %d, %q", prog, code, errs)
		}
	}
}
