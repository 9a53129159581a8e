package loss_test

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/xentlab/xent/embedding"
	"github.com/xentlab/xent/loss"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the generated table of docs/LOSSES.md")

const (
	lossesDoc   = "../docs/LOSSES.md"
	tableHeader = "| name | catalog | loss | parameters; input |\n|---|---|---|---|\n"
)

// registeredTable is docs/LOSSES.md's table of registered losses, written
// from the registry (the same text as `xent losses`).
func registeredTable() string {
	var b strings.Builder
	b.WriteString(tableHeader)
	for _, s := range loss.Specs() {
		cat := s.Catalog
		if cat == "" {
			cat = "-"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s; input: %s |\n", s.Name, cat, s.Summary, s.ParamList(), s.InputText())
	}
	return b.String()
}

// TestLossesTableUpToDate fails when docs/LOSSES.md's table of registered
// losses differs from the registry; `go test ./loss -run
// TestLossesTableUpToDate -update-docs` rewrites it.
func TestLossesTableUpToDate(t *testing.T) {
	raw, err := os.ReadFile(lossesDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, tableHeader)
	if start < 0 {
		t.Fatalf("%s has no table starting %q", lossesDoc, tableHeader)
	}
	end := start + len(tableHeader)
	for end < len(doc) && strings.HasPrefix(doc[end:], "| ") {
		end += strings.IndexByte(doc[end:], '\n') + 1
	}
	want := registeredTable()
	if doc[start:end] == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(lossesDoc, []byte(doc[:start]+want+doc[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the table of registered losses differs from the registry; run go test ./loss -run TestLossesTableUpToDate -update-docs", lossesDoc)
}

// docRow is one row of a detailed table of docs/losses: the loss names of
// its first cell, the catalog id given there and the row's text.
type docRow struct {
	names   []string
	catalog string
	text    string
}

var (
	nameRe    = regexp.MustCompile("`([a-z0-9-]+)`")
	catalogRe = regexp.MustCompile(`\(([AB][0-9]+)\b`)
)

func docRows(t *testing.T, path string) []docRow {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []docRow
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.SplitN(line, "|", 3)[1]
		r := docRow{text: line}
		for _, m := range nameRe.FindAllStringSubmatch(first, -1) {
			r.names = append(r.names, m[1])
		}
		if m := catalogRe.FindStringSubmatch(first); m != nil {
			r.catalog = m[1]
		}
		rows = append(rows, r)
	}
	return rows
}

// documented is what the drift test checks of a registered loss.
type documented struct {
	catalog string
	params  []string // "name=default" as ParamList writes them
}

// TestLossPagesMatchRegistry checks docs/losses: every registered loss
// (package loss and package embedding) has a row, under the catalog id it
// is registered with, naming each parameter with its default; every name
// in those rows is registered (or is listed below as documented there on
// purpose without being registered).
func TestLossPagesMatchRegistry(t *testing.T) {
	reg := map[string]documented{}
	for _, s := range loss.Specs() {
		reg[s.Name] = documented{s.Catalog, strings.Split(s.ParamList(), ", ")}
	}
	for _, s := range embedding.Specs() {
		reg[s.Name] = documented{s.Catalog, strings.Split(s.ParamList(), ", ")}
	}
	// Documented in docs/LOSSES.md and on their types, not in docs/losses.
	elsewhere := map[string]bool{"cross-entropy": true, "bce": true, "kd": true, "ctc": true}
	// In docs/losses without being registered.
	unregistered := map[string]bool{"crossmax": true} // loss.CrossMax, a metric-style function
	seen := map[string]bool{}
	for _, page := range []string{"classification", "distillation", "embedding"} {
		path := "../docs/losses/" + page + ".md"
		for _, r := range docRows(t, path) {
			for _, name := range r.names {
				d, ok := reg[name]
				switch {
				case unregistered[name]:
					continue
				case !ok:
					t.Errorf("%s: %q is not a registered loss", path, name)
					continue
				case r.catalog != d.catalog:
					t.Errorf("%s: %s is under catalog id %q, registered as %q", path, name, r.catalog, d.catalog)
				}
				seen[name] = true
				for _, p := range d.params {
					if p != "none" && !givesParam(r.text, p) {
						t.Errorf("%s: the row of %s does not give the parameter %s", path, name, p)
					}
				}
			}
		}
	}
	for name := range reg {
		if !seen[name] && !elsewhere[name] {
			t.Errorf("registered loss %s has no row in docs/losses", name)
		}
	}
}

// givesParam reports whether a row gives the parameter p ("name=default")
// as "name=default" or "name default"; a default that is not a short
// number (−Inf, log(1e-4) = −9.21…) may be written as a formula, so only
// "name=" is required for it.
func givesParam(row, p string) bool {
	name, def, _ := strings.Cut(p, "=")
	if strings.Contains(row, p) || strings.Contains(row, name+" "+def) {
		return true
	}
	if len(def) > 8 || strings.Contains(def, "Inf") {
		return strings.Contains(row, name+"=")
	}
	// 1e-06 and 1e-05 are written 1e-6 and 1e-5.
	short := strings.Replace(def, "e-0", "e-", 1)
	return strings.Contains(row, name+"="+short) || strings.Contains(row, name+" "+short)
}

// TestCatalogIDsDocumented: every catalog id a registered loss cites has a
// row in docs/CATALOG.md.
func TestCatalogIDsDocumented(t *testing.T) {
	raw, err := os.ReadFile("../docs/CATALOG.md")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range loss.Specs() {
		ids = append(ids, s.Catalog)
	}
	for _, s := range embedding.Specs() {
		ids = append(ids, s.Catalog)
	}
	for _, id := range ids {
		if id != "" && !strings.Contains(string(raw), "\n| "+id+" | ") {
			t.Errorf("catalog id %s has no row in docs/CATALOG.md", id)
		}
	}
}
