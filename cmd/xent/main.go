// Command xent is the command-line face of the xent library: it evaluates
// losses on .npy files, benchmarks the kernels against baselines, and runs
// the lab. Run "xent help" for the list of commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
)

// A command is one "xent NAME ..." subcommand. Each lives in its own file
// and registers itself from init.
type command struct {
	name    string
	summary string // one line for "xent help"
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("xent: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// usageError marks an error in the command line itself (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status: 0 on
// success, 1 when the command failed, 2 for a bad command line. Every
// failure is reported as one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if _, ok := commands[args[1]]; !ok {
				fmt.Fprintf(stderr, "xent help: unknown command %q (commands: %s)\n", args[1], strings.Join(names(), ", "))
				return 2
			}
			// "xent help bench softmax" is "xent bench softmax -h".
			return run(append(append([]string(nil), args[1:]...), "-h"), stdout, stderr)
		}
		printHelp(stdout)
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "version" {
		if len(args) > 1 {
			fmt.Fprintf(stderr, "xent: %s takes no arguments\n", args[0])
			return 2
		}
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "xent: unknown command %q (commands: %s)\n", args[0], strings.Join(names(), ", "))
		return 2
	}
	err := c.run(args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintf(stderr, "xent %s: %s\n", c.name, oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func names() []string {
	var n []string
	for k := range commands {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "xent: softmax and cross-entropy, fast and numerically safe.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: xent COMMAND [flags]")
	fmt.Fprintln(w)
	for _, n := range names() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "xent help COMMAND" or "xent COMMAND -h" for a command's flags,`)
	fmt.Fprintln(w, `"xent --version" for the version. Exit status: 0 on success, 1 when the`)
	fmt.Fprintln(w, `command failed, 2 for a bad command line.`)
}

// newFlags returns a flag set that reports errors instead of exiting and
// prints its usage and flags, spelled --flag, to stdout on -h or --help.
func newFlags(name, usage string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("xent "+name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: xent %s %s\n\nFlags:\n", name, usage)
		printFlags(fs)
	}
	return fs
}

// printFlags lists the flags of fs in the spelling the usage lines use,
// --name, sorted by name, with their defaults.
func printFlags(fs *flag.FlagSet) {
	w := fs.Output()
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + kind
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
		if d := f.DefValue; d != "" && d != "false" && d != "0" {
			if kind == "string" {
				d = strconv.Quote(d)
			}
			fmt.Fprintf(w, " (default %s)", d)
		}
		fmt.Fprintln(w)
	})
}

// parseFlags parses args and turns a flag error into a usage error; it
// rejects positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := parseFlagsKeep(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// buildCommit names the commit when the build did not record one, set
// with go build -ldflags "-X main.buildCommit=$(git rev-parse HEAD)".
var buildCommit string

// versionLine is what "xent --version" prints: the module's path and
// version, and the commit it was built from when the build recorded one
// (a build inside a git checkout does; "+dirty" marks uncommitted
// changes).
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "xent (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	line := fmt.Sprintf("xent %s %s", bi.Main.Path, v)
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		rev = buildCommit
	}
	if rev != "" {
		line += " commit " + rev
		if dirty {
			line += "+dirty"
		}
		if when != "" {
			line += " (" + when + ")"
		}
	}
	return line + " " + bi.GoVersion
}
