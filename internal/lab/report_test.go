package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tinyConfig is an experiment of a fraction of a second on synthetic
// data.
func tinyConfig() Config {
	c := DefaultConfig()
	c.Dataset = "synthetic"
	c.Noise = []float64{0, 0.3}
	c.Losses = []string{"cross-entropy", "not-registered-yet", "lab-test-onehot"}
	c.Holdout = 60
	c.Bins = 10
	c.Train.Hidden, c.Train.Batch, c.Train.Epochs = 16, 32, 3
	return c
}

func tinyRun(t *testing.T, c Config) *Results {
	t.Helper()
	train := syntheticSet(400, 12, 4, 1)
	test := syntheticSet(200, 12, 4, 2)
	var warnings []string
	res, err := Run(context.Background(), c, train, test, Events{Warn: func(m string) { warnings = append(warnings, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "not-registered-yet") {
		t.Errorf("warnings %q", warnings)
	}
	return res
}

func TestRunResults(t *testing.T) {
	c := tinyConfig()
	res := tinyRun(t, c)
	if len(res.Runs) != 4 || len(res.Skipped) != 1 || res.Skipped[0].Loss != "not-registered-yet" {
		t.Fatalf("%d runs, skipped %v", len(res.Runs), res.Skipped)
	}
	if res.TrainRows != 340 || res.HoldoutRows != 60 || res.TestRows != 200 || res.Classes != 4 || res.Features != 12 {
		t.Errorf("sizes %d/%d/%d, %d classes, %d features", res.TrainRows, res.HoldoutRows, res.TestRows, res.Classes, res.Features)
	}
	for _, r := range res.Runs {
		if len(r.Curve) != 3 || r.Scaled == nil || !(r.Temperature > 0) || len(r.Test.Reliability) != 10 {
			t.Errorf("%s at %g: %+v", r.Loss, r.Noise, r)
		}
		if r.Test.Accuracy < 0.5 {
			t.Errorf("%s at %g: accuracy %v on separable clusters", r.Loss, r.Noise, r.Test.Accuracy)
		}
		// About 30% of the 340 training labels are flipped.
		if want := map[float64]int{0: 0, 0.3: 102}[r.Noise]; r.Flipped < want-25 || r.Flipped > want+25 {
			t.Errorf("%s at %g: %d training labels flipped", r.Loss, r.Noise, r.Flipped)
		}
	}
	// Every loss sees the same data: the same flips at a rate.
	a, _ := res.Find("cross-entropy", 0.3)
	b, _ := res.Find("lab-test-onehot", 0.3)
	if a.Flipped != b.Flipped {
		t.Errorf("flips differ between losses: %d, %d", a.Flipped, b.Flipped)
	}
	// Soft-target cross-entropy on one-hot targets is cross-entropy: the
	// two runs must agree closely.
	if d := a.Test.NLL - b.Test.NLL; d > 1e-3 || d < -1e-3 {
		t.Errorf("one-hot cross-entropy NLL %v, cross-entropy %v", b.Test.NLL, a.Test.NLL)
	}
}

// TestRunDeterministic runs the experiment with several threads and runs
// at once and requires the same numbers, times aside.
func TestRunDeterministic(t *testing.T) {
	strip := func(r *Results) []RunResult {
		runs := append([]RunResult(nil), r.Runs...)
		for i := range runs {
			runs[i].EpochSeconds = 0
			runs[i].Curve = append([]EpochStats(nil), runs[i].Curve...)
			for j := range runs[i].Curve {
				runs[i].Curve[j].Seconds = 0
			}
		}
		return runs
	}
	c := tinyConfig()
	c.Train.Threads, c.Jobs = 1, 1
	a := tinyRun(t, c)
	for _, tj := range [][2]int{{3, 1}, {3, 0}, {4, 2}} {
		c.Train.Threads, c.Jobs = tj[0], tj[1]
		b := tinyRun(t, c)
		if !reflect.DeepEqual(strip(a), strip(b)) {
			t.Errorf("results differ between 1 thread and %d threads in %d jobs", tj[0], tj[1])
		}
		if w, th := c.parallelism(4); b.Jobs != w || w*th > max(tj[0], w) {
			t.Errorf("%d threads, %d jobs: %d workers of %d threads", tj[0], tj[1], w, th)
		}
	}
}

func TestRunErrors(t *testing.T) {
	train := syntheticSet(100, 5, 3, 1)
	test := syntheticSet(50, 5, 3, 2)
	for name, f := range map[string]func(*Config){
		"no loss registered": func(c *Config) { c.Losses = []string{"nope"} },
		"bad parameter":      func(c *Config) { c.Losses = []string{"cross-entropy:q=1"} },
		"noise rate":         func(c *Config) { c.Noise = []float64{1.5} },
		"hold-out too big":   func(c *Config) { c.Holdout = 100 },
		"bins":               func(c *Config) { c.Bins = 0 },
		"epochs":             func(c *Config) { c.Train.Epochs = 0 },
	} {
		c := tinyConfig()
		f(&c)
		if _, err := Run(context.Background(), c, train, test, Events{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	c := tinyConfig()
	if _, err := Run(context.Background(), c, train, syntheticSet(50, 6, 3, 2), Events{}); err == nil {
		t.Error("test set with other features: no error")
	}
	// A run that fails stops the others and names itself.
	c.Losses = []string{"cross-entropy", "lab-test-failing"}
	c.Jobs, c.Train.Threads = 2, 2
	if _, err := Run(context.Background(), c, train, test, Events{}); err == nil || !strings.Contains(err.Error(), "lab-test-failing") {
		t.Errorf("failing run: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, tinyConfig(), train, test, Events{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// fakePNG stands in for the renderer where drawing every figure would
// dominate a test's time (under the race detector, a figure takes
// seconds); TestFiguresRender draws real ones.
func fakePNG(f *Figure, path string) error {
	return os.WriteFile(path, []byte("\x89PNG\r\n\x1a\n"+f.Name), 0o644)
}

// testRender returns the renderer of the report tests: the real one,
// or the stand-in under -short.
func testRender() func(*Figure, string) error {
	if testing.Short() {
		return fakePNG
	}
	return nil
}

func TestFiguresRender(t *testing.T) {
	c := tinyConfig()
	c.Noise = c.Noise[:1]
	c.Losses = c.Losses[:2]
	res := tinyRun(t, c)
	figs := Figures(res)
	kinds := map[string]bool{}
	dir := t.TempDir()
	for i := range figs {
		f := &figs[i]
		if kinds[f.Kind] && testing.Short() {
			continue // one of each kind is enough under -short
		}
		kinds[f.Kind] = true
		path := filepath.Join(dir, f.Name+".png")
		if err := f.SavePNG(path); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		b, err := os.ReadFile(path)
		if err != nil || len(b) < 1000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s: %d bytes, %v", f.Name, len(b), err)
		}
	}
	if !kinds[""] || !kinds["recalibration"] {
		t.Errorf("figure kinds %v", kinds)
	}
	bad := Figure{Name: "bad", Series: []Series{{Name: "s", X: []float64{1}, Y: nil}}}
	if err := bad.SavePNG(filepath.Join(dir, "bad.png")); err == nil {
		t.Error("mismatched series: no error")
	}
}

func TestWriteReport(t *testing.T) {
	res := tinyRun(t, tinyConfig())
	dir := t.TempDir()
	out := filepath.Join(dir, "report")
	if err := WriteReport(out, res, ReportOptions{Command: "xent lab --test", Render: testRender()}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"xent lab --test", "## 30% symmetric noise", "## Summary", "- 30% noise: cross-entropy", "not-registered-yet", "![", "| cross-entropy"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	figs := Figures(res)
	// accuracy, ECE; per rate: curves, reliability, one recalibration per loss.
	if len(figs) != 2+2*(2+2) {
		t.Errorf("%d figures", len(figs))
	}
	for _, f := range figs {
		png, err := os.ReadFile(filepath.Join(out, f.Name+".png"))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Errorf("%s.png: %v", f.Name, err)
		}
		if !bytes.Contains(md, []byte("("+f.Name+".png)")) {
			t.Errorf("report.md does not embed %s.png", f.Name)
		}
		var back Figure
		js, err := os.ReadFile(filepath.Join(out, f.Name+".json"))
		if err != nil || json.Unmarshal(js, &back) != nil || !reflect.DeepEqual(back, f) {
			t.Errorf("%s.json does not hold the figure: %v", f.Name, err)
		}
	}
	var back Results
	js, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil || json.Unmarshal(js, &back) != nil || len(back.Runs) != len(res.Runs) {
		t.Errorf("results.json: %v", err)
	}

	// An existing report is kept without Force.
	err = WriteReport(out, res, ReportOptions{Render: fakePNG})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second write without force: %v", err)
	}
	// With Force it is replaced.
	stale := filepath.Join(out, "stale.txt")
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(out, res, ReportOptions{Force: true, Render: fakePNG}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("the old report's files survived --force")
	}
	onlyReport(t, dir, "report")
}

// onlyReport checks that dir holds exactly the named entries: no
// temporary or moved-aside directory is left behind.
func onlyReport(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !reflect.DeepEqual(got, names) && !(len(got) == 0 && len(names) == 0) {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

// TestWriteReportAtomic fails the write at the last moment and checks
// that nothing is left: no report, no temporary directory, and an
// earlier report intact.
func TestWriteReportAtomic(t *testing.T) {
	res := tinyRun(t, tinyConfig())
	dir := t.TempDir()
	out := filepath.Join(dir, "r")
	fail := errors.New("disk full")
	var seen []string
	beforeRename = func(tmp string) error {
		entries, _ := os.ReadDir(tmp)
		for _, e := range entries {
			seen = append(seen, e.Name())
		}
		return fail
	}
	defer func() { beforeRename = func(string) error { return nil } }()
	if err := WriteReport(out, res, ReportOptions{Render: fakePNG}); !errors.Is(err, fail) {
		t.Fatalf("err %v", err)
	}
	if len(seen) != 2*len(Figures(res))+2 {
		t.Errorf("the temporary report held %d files before the rename", len(seen))
	}
	onlyReport(t, dir)

	// An earlier report survives a failed --force.
	beforeRename = func(string) error { return nil }
	if err := WriteReport(out, res, ReportOptions{Render: fakePNG}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, ReportFile))
	beforeRename = func(string) error { return fail }
	res.Seconds = 12345
	if err := WriteReport(out, res, ReportOptions{Force: true, Command: "changed", Render: fakePNG}); !errors.Is(err, fail) {
		t.Fatalf("err %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(out, ReportFile))
	if !bytes.Equal(before, after) {
		t.Error("a failed forced write changed the earlier report")
	}
	onlyReport(t, dir, "r")
}

func TestCheckOutput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	other := filepath.Join(dir, "other")
	os.Mkdir(other, 0o755)
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, c := range []struct {
		path  string
		force bool
		ok    bool
	}{
		{filepath.Join(dir, "new"), false, true},
		{filepath.Join(dir, "missing", "new"), false, false},
		{file, true, false},
		{other, false, false},
		{other, true, false}, // not a report: never replaced
		{empty, false, false},
		{empty, true, true},
	} {
		err := CheckOutput(c.path, c.force)
		if (err == nil) != c.ok {
			t.Errorf("CheckOutput(%s, %v) = %v", c.path, c.force, err)
		}
	}
}

func TestFileTags(t *testing.T) {
	if got := fileTag("sce:alpha=0.5,logfloor=-4"); got != "sce_alpha-0.5_logfloor--4" {
		t.Errorf("fileTag = %q", got)
	}
	if got := rateTag(0.2); got != "20" {
		t.Errorf("rateTag(0.2) = %q", got)
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1 000", 55000: "55 000", 1234567: "1 234 567", -5000: "-5 000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "w")
	if err := WriteDir(out, false, func(tmp string) error {
		return os.WriteFile(filepath.Join(tmp, "other.txt"), nil, 0o644)
	}); err == nil {
		t.Error("a directory without report.md was accepted")
	}
	fail := errors.New("fill failed")
	if err := WriteDir(out, false, func(string) error { return fail }); !errors.Is(err, fail) {
		t.Errorf("fill error: %v", err)
	}
	onlyReport(t, dir)
	if err := WriteDir(out, false, func(tmp string) error {
		return os.WriteFile(filepath.Join(tmp, ReportFile), []byte("# r\n"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("report directory: %v, %v", st.Mode(), err)
	}
	onlyReport(t, dir, "w")
}

// TestWriteDirCleansStale: a report written after a killed run removes the
// temporary directory that run left, and a directory it had moved aside
// once the report is in place again.
func TestWriteDirCleansStale(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot start a process:", err)
	}
	dead := cmd.Process.Pid
	if syscallAlive(dead) {
		t.Skip("the process id was reused")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "rep")
	stale := filepath.Join(dir, fmt.Sprintf(".rep.tmp-%d-k1", dead))
	aside := filepath.Join(dir, fmt.Sprintf(".rep.old-%d-k2", dead))
	for _, d := range []string{stale, aside} {
		if err := os.MkdirAll(filepath.Join(d, "figs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteDir(out, false, func(tmp string) error {
		return os.WriteFile(filepath.Join(tmp, ReportFile), []byte("# r\n"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("the killed run's temporary directory is still there")
	}
	if _, err := os.Stat(aside); err != nil {
		t.Error("the directory moved aside was removed while no report stood in its place")
	}
	if err := WriteDir(out, true, func(tmp string) error {
		return os.WriteFile(filepath.Join(tmp, ReportFile), []byte("# r2\n"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	onlyReport(t, dir, "rep")
}
