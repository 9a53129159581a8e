// Command asmgen writes xent's assembly kernels: every tier of every
// kernel family from one Go description, with avo.
//
//	go run .      (from internal/asmgen: writes into internal/vek, metrics, lab)
//
// The generated files are committed; CI regenerates them into a
// temporary directory and fails on any difference.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
)

// A family is one set of kernels written for every tier: its generated
// files are dir/name_avx2_amd64.{s,go} and dir/name_avx512_amd64.{s,go},
// dir relative to the repository's root.
type family struct {
	dir, pkg, name string
	gen            func(*tier)
	avx512Only     bool // no AVX2 tier (the portable twin runs there)
}

var families = []family{
	{"internal/vek", "vek", "vek32", genVek32, false},
	{"internal/vek", "vek", "vek64", genVek64, false},
	{"internal/vek", "vek", "twopass", genTwoPass, false},
	{"metrics", "metrics", "count", genCount, false},
	{"internal/lab", "lab", "adam", genAdam, false},
	{"sample", "sample", "kernels", genSample, true},
	{"internal/gemm", "gemm", "kernels", genGemm, false},
}

func main() {
	out := flag.String("dir", "../..", "the repository's root: the families are written under it")
	flag.Parse()
	for _, f := range families {
		for _, avx512 := range []bool{false, true} {
			if !avx512 && f.avx512Only {
				continue
			}
			if err := generate(*out, f, avx512); err != nil {
				fmt.Fprintln(os.Stderr, "asmgen:", err)
				os.Exit(1)
			}
		}
	}
}

func generate(out string, f family, avx512 bool) error {
	ctx := build.NewContext()
	ctx.ConstraintExpr("!purego")
	t := newTier(ctx, avx512)
	f.gen(t)
	tierName := "avx2"
	if avx512 {
		tierName = "avx512"
	}
	if err := os.MkdirAll(filepath.Join(out, f.dir), 0o755); err != nil {
		return err
	}
	base := filepath.Join(out, f.dir, fmt.Sprintf("%s_%s_amd64", f.name, tierName))
	cfg := printer.Config{Name: "asmgen", Argv: []string{"internal/asmgen"}, Pkg: f.pkg}
	asm, err := os.Create(base + ".s")
	if err != nil {
		return err
	}
	defer asm.Close()
	stubs, err := os.Create(base + ".go")
	if err != nil {
		return err
	}
	defer stubs.Close()
	if build.Main(&build.Config{
		ErrOut:    os.Stderr,
		MaxErrors: 20,
		Passes: []pass.Interface{
			pass.Compile,
			&pass.Output{Writer: asm, Printer: printer.NewGoAsm(cfg)},
			&pass.Output{Writer: stubs, Printer: printer.NewStubs(cfg)},
		},
	}, ctx) != 0 {
		return fmt.Errorf("%s %s: generation failed", f.name, tierName)
	}
	return nil
}
