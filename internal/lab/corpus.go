package lab

import (
	"context"
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"hash/fnv"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/xentlab/xent/internal/par"
)

// UnkToken is the vocabulary entry of every token outside the V−1 most
// frequent ones; it is entry 0 of a Corpus's vocabulary.
const UnkToken = "<unk>"

// NewlineToken is the token text of a semicolon that Go's scanner inserts
// at the end of a line (explicit semicolons are ";").
const NewlineToken = "\n"

// CorpusConfig says which Go source files make a corpus and how large its
// vocabulary is.
type CorpusConfig struct {
	// Root is the directory walked for Go files; "" means the src
	// directory of the Go installation (GoSourceDir).
	Root string `json:"root"`
	// Vocab is the vocabulary size V, <unk> included (≥ 2). A training
	// split with fewer distinct tokens gives a smaller vocabulary.
	Vocab int `json:"vocab"`
	// ValEvery puts ⌈P/ValEvery⌉ of the P package directories into the
	// validation split (default 20 when 0; ≥ 2).
	ValEvery int `json:"val_every"`
	// Threads tokenizes files concurrently (≤ 0: GOMAXPROCS); the corpus
	// does not depend on it.
	Threads int `json:"-"`
}

// Split is one part of a corpus: the token ids of its files, one file
// after another.
type Split struct {
	// Tokens holds the vocabulary index of every token.
	Tokens []int32
	// Starts holds the offset in Tokens of each file's first token.
	Starts []int
	// Packages is the number of package directories in the split.
	Packages int
	// Unk counts the tokens mapped to <unk>.
	Unk int
}

// Files returns the number of files in the split.
func (s *Split) Files() int { return len(s.Starts) }

// Positions returns the indices t of the tokens of s that have context
// tokens before them in their own file (t − context ≥ the file's start):
// the targets a model with that context can be trained or scored on.
func (s *Split) Positions(context int) []int32 {
	var out []int32
	for f, lo := range s.Starts {
		hi := len(s.Tokens)
		if f+1 < len(s.Starts) {
			hi = s.Starts[f+1]
		}
		for t := lo + context; t < hi; t++ {
			out = append(out, int32(t))
		}
	}
	return out
}

// Corpus is Go source tokenized with go/scanner into a fixed vocabulary,
// split by package into training and validation files.
//
// Files: every .go file under Root except tests (_test.go), generated
// files (a "// Code generated ... DO NOT EDIT." comment before the package
// clause) and files the scanner rejects; directories named testdata or
// vendor, and those starting with "." or "_", are skipped, as the go
// command skips them. Files are read in sorted path order.
//
// Tokens: comments are dropped; identifiers, keywords, operators and
// literals of every kind (numbers, runes, strings) are their source text,
// and a semicolon the scanner inserts at a line end is NewlineToken.
// Literals are not bucketed: a frequent one ("", 0, "fmt") is a token of
// its own, a rare one becomes <unk> like a rare identifier.
//
// Split: the package directories (relative paths) are ordered by the
// FNV-1a hash of their path (ties by path) and the first ⌈P/ValEvery⌉
// form the validation split, so validation is scored on packages the
// model never saw.
//
// Vocabulary: <unk> first, then the V−1 tokens most frequent in the
// training split, by descending count and, for equal counts, by their
// text in byte order. Validation tokens outside it are <unk> too.
type Corpus struct {
	Config CorpusConfig
	// Vocab holds the token texts by index; Counts their number of
	// occurrences in the training split (Counts[0] those of the tokens
	// mapped to <unk>).
	Vocab  []string
	Counts []int64
	// Distinct is the number of distinct token texts in the training
	// split.
	Distinct int
	Train    Split
	Val      Split
	// Generated and Rejected count the files left out as generated code
	// and because the scanner reported an error.
	Generated, Rejected int
	// Seconds is the wall time of reading and tokenizing.
	Seconds float64
}

// GoSourceDir returns the src directory of the Go installation: GOROOT as
// "go env GOROOT" reports it (the go command on PATH), or else the GOROOT
// environment variable. It fails when neither names a directory holding
// the standard library's source.
func GoSourceDir() (string, error) {
	var tried []string
	var roots []string
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if r := strings.TrimSpace(string(out)); r != "" {
			roots = append(roots, r)
		}
	} else {
		tried = append(tried, fmt.Sprintf("go env GOROOT: %v", err))
	}
	if r := os.Getenv("GOROOT"); r != "" {
		roots = append(roots, r)
	} else {
		tried = append(tried, "$GOROOT is not set")
	}
	for _, r := range roots {
		src := filepath.Join(r, "src")
		if st, err := os.Stat(filepath.Join(src, "fmt")); err == nil && st.IsDir() {
			return src, nil
		}
		tried = append(tried, fmt.Sprintf("%s holds no standard library source", src))
	}
	return "", fmt.Errorf("lab: the Go source tree was not found (%s); install Go or name a directory of Go source", strings.Join(tried, "; "))
}

// generatedRE is the marker of generated Go files (go help generate).
var generatedRE = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

// scanGo tokenizes one Go file, calling emit for every token in order.
// It reports whether the file is generated (it then stops at the package
// clause, having emitted nothing) and the scanner's first error.
func scanGo(name string, src []byte, emit func(text string)) (generated bool, err error) {
	fset := token.NewFileSet()
	file := fset.AddFile(name, -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, func(pos token.Position, msg string) {
		if err == nil {
			err = fmt.Errorf("%s: %s", pos, msg)
		}
	}, scanner.ScanComments)
	header := true
	for {
		_, tok, lit := s.Scan()
		switch {
		case tok == token.EOF:
			return false, err
		case tok == token.COMMENT:
			if header && strings.HasPrefix(lit, "//") && generatedRE.MatchString(strings.TrimRight(lit, "\r")) {
				return true, nil
			}
			continue
		}
		header = false
		switch {
		case tok == token.SEMICOLON && lit != ";":
			emit(NewlineToken)
		case tok == token.IDENT || tok.IsLiteral():
			emit(lit)
		default:
			emit(tok.String())
		}
	}
}

// corpusFile is one file found under the root.
type corpusFile struct {
	path, pkg string // path on disk; package directory relative to the root, slash-separated
}

// listGoFiles walks root for the corpus's files, in sorted path order.
func listGoFiles(root string) ([]corpusFile, error) {
	var files []corpusFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		files = append(files, corpusFile{path: p, pkg: filepath.ToSlash(rel)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files, nil
}

// interner gives token texts small ids; one per worker.
type interner struct {
	ids   map[string]int32
	texts []string
}

func (in *interner) id(s string) int32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	id := int32(len(in.texts))
	in.ids[s] = id
	in.texts = append(in.texts, s)
	return id
}

// scanned is one file after tokenization: its tokens as ids of its
// worker's interner.
type scanned struct {
	worker    int
	ids       []int32
	generated bool
	err       error
}

// LoadCorpus reads and tokenizes the Go files under c.Root (see Corpus
// for what is read and how), splits them by package and builds the
// vocabulary. It stops with ctx's error when ctx is cancelled.
func LoadCorpus(ctx context.Context, c CorpusConfig) (*Corpus, error) {
	start := time.Now()
	if c.ValEvery == 0 {
		c.ValEvery = 20
	}
	if c.Vocab < 2 {
		return nil, fmt.Errorf("lab: vocabulary of %d tokens, want ≥ 2 (<unk> and one more)", c.Vocab)
	}
	if c.ValEvery < 2 {
		return nil, fmt.Errorf("lab: one package in %d for validation, want ≥ 2", c.ValEvery)
	}
	if c.Root == "" {
		root, err := GoSourceDir()
		if err != nil {
			return nil, err
		}
		c.Root = root
	}
	if st, err := os.Stat(c.Root); err != nil {
		return nil, fmt.Errorf("lab: corpus: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("lab: corpus %s is not a directory", c.Root)
	}
	walk := c.Root
	if r, err := filepath.EvalSymlinks(walk); err == nil {
		walk = r // WalkDir does not follow a root that is a symbolic link
	}
	files, err := listGoFiles(walk)
	if err != nil {
		return nil, fmt.Errorf("lab: corpus: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("lab: corpus: no Go files under %s", c.Root)
	}

	// Tokenize concurrently; every worker interns into its own table,
	// and the tables are merged by text below, so the result does not
	// depend on which worker read which file.
	threads := min(par.Threads(c.Threads), len(files))
	res := make([]scanned, len(files))
	tables := make([]interner, threads)
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	var readErr error
	for w := range threads {
		tables[w].ids = map[string]int32{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tab := &tables[w]
			for {
				mu.Lock()
				i := next
				next++
				stop := readErr != nil
				mu.Unlock()
				if i >= len(files) || stop || ctx.Err() != nil {
					return
				}
				src, err := os.ReadFile(files[i].path)
				if err != nil {
					mu.Lock()
					if readErr == nil {
						readErr = err
					}
					mu.Unlock()
					return
				}
				var ids []int32
				gen, err := scanGo(files[i].path, src, func(s string) { ids = append(ids, tab.id(s)) })
				res[i] = scanned{worker: w, ids: ids, generated: gen, err: err}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, fmt.Errorf("lab: corpus: %w", readErr)
	}

	corp := &Corpus{Config: c}
	var kept []int
	pkgs := map[string]bool{}
	for i, r := range res {
		switch {
		case r.generated:
			corp.Generated++
		case r.err != nil:
			corp.Rejected++
		case len(r.ids) > 0:
			kept = append(kept, i)
			pkgs[files[i].pkg] = true
		}
	}
	if len(pkgs) < 2 {
		return nil, fmt.Errorf("lab: corpus %s: %d package directories with Go code, need at least 2 to split off validation", c.Root, len(pkgs))
	}
	val := valPackages(pkgs, c.ValEvery)

	// Count the training tokens, per worker table, then by text.
	counts := make([][]int64, threads)
	for w := range tables {
		counts[w] = make([]int64, len(tables[w].texts))
	}
	for _, i := range kept {
		if val[files[i].pkg] {
			continue
		}
		cw := counts[res[i].worker]
		for _, id := range res[i].ids {
			cw[id]++
		}
	}
	total := map[string]int64{}
	for w, tab := range tables {
		for id, n := range counts[w] {
			if n > 0 {
				total[tab.texts[id]] += n
			}
		}
	}
	corp.Distinct = len(total)
	corp.Vocab, corp.Counts = buildVocab(total, c.Vocab)
	index := make(map[string]int32, len(corp.Vocab))
	for i, s := range corp.Vocab[1:] {
		index[s] = int32(i + 1)
	}
	// Translate every worker's ids into vocabulary indices (0: <unk>).
	trans := make([][]int32, threads)
	for w, tab := range tables {
		trans[w] = make([]int32, len(tab.texts))
		for id, s := range tab.texts {
			trans[w][id] = index[s]
		}
	}
	trainPk, valPk := map[string]bool{}, map[string]bool{}
	for _, i := range kept {
		sp, set := &corp.Train, trainPk
		if val[files[i].pkg] {
			sp, set = &corp.Val, valPk
		}
		set[files[i].pkg] = true
		sp.Starts = append(sp.Starts, len(sp.Tokens))
		tr := trans[res[i].worker]
		for _, id := range res[i].ids {
			v := tr[id]
			if v == 0 {
				sp.Unk++
			}
			sp.Tokens = append(sp.Tokens, v)
		}
	}
	corp.Train.Packages, corp.Val.Packages = len(trainPk), len(valPk)
	corp.Seconds = time.Since(start).Seconds()
	return corp, nil
}

// valPackages picks the validation packages: the ⌈P/every⌉ with the
// smallest FNV-1a hash of their path (ties by path).
func valPackages(pkgs map[string]bool, every int) map[string]bool {
	type ph struct {
		p string
		h uint64
	}
	list := make([]ph, 0, len(pkgs))
	for p := range pkgs {
		h := fnv.New64a()
		h.Write([]byte(path.Clean(p)))
		list = append(list, ph{p, h.Sum64()})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].h != list[j].h {
			return list[i].h < list[j].h
		}
		return list[i].p < list[j].p
	})
	n := (len(list) + every - 1) / every
	out := make(map[string]bool, n)
	for _, e := range list[:n] {
		out[e.p] = true
	}
	return out
}

// buildVocab returns <unk> and the size−1 most frequent texts of counts
// (descending count, ties by text in byte order), with their counts;
// the count of <unk> is that of every text left out.
func buildVocab(counts map[string]int64, size int) ([]string, []int64) {
	type tc struct {
		t string
		n int64
	}
	list := make([]tc, 0, len(counts))
	var all int64
	for t, n := range counts {
		list = append(list, tc{t, n})
		all += n
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].t < list[j].t
	})
	list = list[:min(len(list), size-1)]
	vocab := make([]string, 1, len(list)+1)
	cnt := make([]int64, 1, len(list)+1)
	vocab[0] = UnkToken
	for _, e := range list {
		vocab = append(vocab, e.t)
		cnt = append(cnt, e.n)
		all -= e.n
	}
	cnt[0] = all
	return vocab, cnt
}

// UnigramLoss returns the mean cross-entropy (nats) of the unigram model
// of the training split, p(w) = (count(w) + 1)/(N + V) (add-one smoothing,
// so a token never seen in training has a finite loss), on the tokens of
// s at the given positions: the floor a model that ignores its context
// reaches.
func (c *Corpus) UnigramLoss(s *Split, positions []int32) (float64, error) {
	if len(positions) == 0 {
		return 0, errors.New("lab: no position to score")
	}
	var n int64
	for _, k := range c.Counts {
		n += k
	}
	den := float64(n + int64(len(c.Counts)))
	var sum float64
	for _, t := range positions {
		if int(t) >= len(s.Tokens) || t < 0 {
			return 0, fmt.Errorf("lab: position %d outside a split of %d tokens", t, len(s.Tokens))
		}
		sum -= math.Log(float64(c.Counts[s.Tokens[t]]+1) / den)
	}
	return sum / float64(len(positions)), nil
}
