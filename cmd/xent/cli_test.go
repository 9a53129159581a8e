package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// everyCommand lists every command line that names a command: the
// top-level commands, the bench ops and the lab's workloads.
func everyCommand() [][]string {
	var all [][]string
	for _, n := range names() {
		all = append(all, []string{n})
	}
	for _, n := range benchNames() {
		all = append(all, []string{"bench", n})
	}
	var lw []string
	for n := range labWorkloads {
		lw = append(lw, n)
	}
	sort.Strings(lw)
	for _, n := range lw {
		all = append(all, []string{"lab", n})
	}
	return all
}

// singleDashFlag finds a flag spelled with one dash at the start of a
// line or after a space or bracket ("-seed"), which the help must not use.
var singleDashFlag = regexp.MustCompile(`(^|[\s\[(|])-[a-z][a-z0-9-]+`)

// TestEveryCommandHelp: -h, --help and "xent help CMD" print the usage to
// standard output, nothing to standard error, exit 0, and spell every
// flag --flag.
func TestEveryCommandHelp(t *testing.T) {
	for _, cmd := range everyCommand() {
		name := strings.Join(cmd, " ")
		var first string
		for _, args := range [][]string{
			append(append([]string(nil), cmd...), "-h"),
			append(append([]string(nil), cmd...), "--help"),
			append([]string{"help"}, cmd...),
		} {
			code, out, errs := runCLI(t, args...)
			if code != 0 || errs != "" {
				t.Errorf("%v: exit %d, stderr %q; want 0 and nothing", args, code, errs)
				continue
			}
			if !strings.HasPrefix(out, "Usage: xent "+name) {
				t.Errorf("%v: stdout does not start with the usage line: %.80q", args, out)
			}
			if first == "" {
				first = out
			} else if out != first {
				t.Errorf("%v: help differs from %s -h", args, name)
			}
			if m := singleDashFlag.FindString(out); m != "" {
				t.Errorf("%v: flag spelled with one dash: %q", args, strings.TrimSpace(m))
			}
		}
		if cmd[0] == "bench" && len(cmd) == 1 {
			continue // "xent bench -h" lists the ops; it has no flags
		}
		if !strings.Contains(first, "\n  --") && name != "losses" {
			t.Errorf("%s -h lists no --flags", name)
		}
	}
	for _, args := range [][]string{{}, {"help"}, {"-h"}, {"--help"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || errs != "" || !strings.Contains(out, "Usage: xent COMMAND") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
		for _, n := range names() {
			if !strings.Contains(out, "\n  "+n+" ") {
				t.Errorf("%v: the command list lacks %s", args, n)
			}
		}
	}
}

// TestEveryCommandUsageError: an unknown flag and a stray argument are
// usage errors: exit status 2, one line on standard error naming the
// command, nothing on standard output.
func TestEveryCommandUsageError(t *testing.T) {
	for _, cmd := range everyCommand() {
		for _, extra := range [][]string{{"--no-such-flag"}, {"--no-such-flag=1"}} {
			args := append(append([]string(nil), cmd...), extra...)
			code, out, errs := runCLI(t, args...)
			if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "xent "+cmd[0]) || !strings.Contains(errs, "no-such-flag") {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, nothing, one line naming the flag", args, code, out, errs)
			}
		}
	}
	for _, args := range [][]string{{"nosuchcommand"}, {"help", "nosuchcommand"}, {"bench"}, {"bench", "nosuchop"},
		{"lab", "nosuchworkload"}, {"--version", "extra"}, {"losses", "stray"}} {
		code, out, errs := runCLI(t, args...)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "xent") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, nothing, one line", args, code, out, errs)
		}
	}
}

// TestExitStatusUsageVersusRuntime: a bad value of a flag (the loss's
// parameters, the reduction, an option) is a usage error (2) whichever
// flag carries it; a problem with the data is a runtime error (1).
func TestExitStatusUsageVersusRuntime(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	labels := writeNPY(t, dir, "y.npy", []int64{0, 1}, 2)
	bad := writeNPY(t, dir, "bad.npy", []int64{0, 7}, 2)
	negw := writeNPY(t, dir, "w.npy", []float64{1, -1, 1}, 3)
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"--loss", "gce:q=x"}, 2},
		{[]string{"--loss", "gce:q=-1"}, 2},
		{[]string{"--loss", "gce:nope=1"}, 2},
		{[]string{"--loss", "nope"}, 2},
		{[]string{"--reduction", "avg"}, 2},
		{[]string{"--label-smoothing", "-1"}, 2},
		{[]string{"--grad-dtype", "int8"}, 2},
		{[]string{"--threads", "-3"}, 2},
		{[]string{"--targets", bad}, 1},
		{[]string{"--targets", filepath.Join(dir, "missing.npy")}, 1},
		{[]string{"--weights", negw}, 1},
	} {
		args := append([]string{"eval", "--logits", logits, "--targets", labels}, c.args...)
		code, out, errs := runCLI(t, args...)
		if code != c.code || out != "" || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d and one line", c.args, code, out, errs, c.code)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		code, out, errs := runCLI(t, arg)
		if code != 0 || errs != "" || !strings.HasPrefix(out, "xent github.com/xentlab/xent ") || strings.Count(out, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, code, out, errs)
		}
	}
}

func TestLossesJSON(t *testing.T) {
	code, out, errs := runCLI(t, "losses", "--json")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Losses []struct {
			Name, Kind, Summary, Input string
			Params                     []struct {
				Name    string
				Default any
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %.200s", err, out)
	}
	kinds := map[string]int{}
	seen := map[string]bool{}
	for _, l := range res.Losses {
		kinds[l.Kind]++
		seen[l.Name] = true
		if l.Summary == "" || l.Input == "" {
			t.Errorf("%s: empty summary or input", l.Name)
		}
	}
	if !seen["cross-entropy"] || !seen["infonce"] || kinds["logits"] == 0 || kinds["embeddings"] == 0 {
		t.Errorf("kinds %v, cross-entropy %v, infonce %v", kinds, seen["cross-entropy"], seen["infonce"])
	}
	// The text listing names the same losses.
	_, text, _ := runCLI(t, "losses")
	for n := range seen {
		if !strings.Contains(text, n+" ") {
			t.Errorf("%s in --json but not in the listing", n)
		}
	}
}
