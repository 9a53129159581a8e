package lab

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"time"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
)

// BF16FilterEps is the gradient-filtering threshold 2⁻¹² at which the
// skipped gradient entries are those a bf16 gradient would round away
// next to the entries of order one (see package linear).
const BF16FilterEps = 1.0 / 4096

// LMConfig describes the language-model workload of the lab: one next-
// token model (LM) trained three times on the same corpus, from the same
// initial weights and with the same batches, once per head (LMHeads).
type LMConfig struct {
	// Corpus selects the Go source and the vocabulary size.
	Corpus CorpusConfig `json:"corpus"`
	// Context, Embed and Hidden shape the model (see LM).
	Context int `json:"context"`
	Embed   int `json:"embed"`
	Hidden  int `json:"hidden"`
	// Batch is the number of target tokens per step, Steps the number of
	// steps.
	Batch int `json:"batch"`
	Steps int `json:"steps"`
	// LR is Adam's learning rate (constant).
	LR float64 `json:"lr"`
	// Seed fixes the initial weights and the batches.
	Seed uint64 `json:"seed"`
	// Threads is the number of goroutines (≤ 0: GOMAXPROCS); the results,
	// timings aside, do not depend on it.
	Threads int `json:"threads"`
	// FilterEps is the threshold of the filtered fused head.
	FilterEps float64 `json:"filter_eps"`
	// ValTokens is the number of validation targets scored, spread evenly
	// over the validation split (0: all of them).
	ValTokens int `json:"val_tokens"`
	// ValPoints is the number of validations during training, evenly
	// spaced, the last after the last step.
	ValPoints int `json:"val_points"`
	// LogEvery is the number of steps averaged into one point of the
	// training-loss curve.
	LogEvery int `json:"log_every"`
	// Generate is the number of pieces of Go source the trained model
	// (the exact fused head's) writes at the end with package sample,
	// each from a prompt of the validation split (0: none).
	Generate int `json:"generate"`
}

// DefaultLMConfig returns the default language-model run: a vocabulary of
// 32 768 tokens of the Go standard library, 4 tokens of context embedded
// in 64 dimensions each, 256 hidden units, batches of 4 096 tokens, 60
// steps of Adam at 2·10⁻³, the filtered head at 2⁻¹², validation on 16 384
// tokens at 4 points. Batch × vocabulary is 2²⁷: the materialized head's
// logits take 512 MiB, where the fused head needs a block of at most
// about 32 MiB — the size at which the fused head is what makes the step
// fit.
func DefaultLMConfig() LMConfig {
	return LMConfig{
		Corpus:    CorpusConfig{Vocab: 32768, ValEvery: 20},
		Context:   4,
		Embed:     64,
		Hidden:    256,
		Batch:     4096,
		Steps:     60,
		LR:        2e-3,
		Seed:      1,
		FilterEps: BF16FilterEps,
		ValTokens: 16384,
		ValPoints: 4,
		LogEvery:  5,
		Generate:  3,
	}
}

// Quick shrinks c to a run of about a minute on two cores that still
// shows what the fused head is for: a vocabulary of 16 384, batches of
// 2 048 tokens (2²⁵ logits, 128 MiB materialized), 30 steps, 4 096
// validation tokens at 3 points.
func (c *LMConfig) Quick() {
	c.Corpus.Vocab = 16384
	c.Batch = 2048
	c.Steps = 30
	c.ValTokens = 4096
	c.ValPoints = 3
	c.LogEvery = 3
}

// Validate reports the first bad setting.
func (c LMConfig) Validate() error {
	switch {
	case c.Corpus.Vocab < 2:
		return settingErr("Vocab", "vocabulary", c.Corpus.Vocab, "≥ 2")
	case c.Corpus.ValEvery != 0 && c.Corpus.ValEvery < 2:
		return settingErr("ValEvery", "one validation package in", c.Corpus.ValEvery, "≥ 2")
	case c.Context < 1:
		return settingErr("Context", "context", c.Context, "≥ 1")
	case c.Embed < 1:
		return settingErr("Embed", "embedding size", c.Embed, "≥ 1")
	case c.Hidden < 1:
		return settingErr("Hidden", "hidden units", c.Hidden, "≥ 1")
	case c.Batch < 1:
		return settingErr("Batch", "batch size", c.Batch, "≥ 1")
	case c.Steps < 1:
		return settingErr("Steps", "steps", c.Steps, "≥ 1")
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return settingErr("LR", "learning rate", c.LR, "a positive number")
	case !(c.FilterEps > 0) || math.IsInf(c.FilterEps, 0):
		return settingErr("FilterEps", "filter threshold", c.FilterEps, "a positive number")
	case c.ValTokens < 0:
		return settingErr("ValTokens", "validation tokens", c.ValTokens, "≥ 0")
	case c.ValPoints < 1:
		return settingErr("ValPoints", "validation points", c.ValPoints, "≥ 1")
	case c.LogEvery < 1:
		return settingErr("LogEvery", "log interval", c.LogEvery, "≥ 1")
	case c.Generate < 0:
		return settingErr("Generate", "generated samples", c.Generate, "≥ 0")
	}
	return nil
}

// LMHeads returns the three heads the workload compares: the fused head,
// exact; the fused head with gradient filtering at eps; and the
// materialized head.
func LMHeads(eps float64) []LMHead {
	return []LMHead{
		{Name: "fused"},
		{Name: fmt.Sprintf("fused, filter %s", epsText(eps)), FilterEps: eps},
		{Name: "materialized", Materialized: true},
	}
}

// epsText writes a threshold as a power of two when it is one.
func epsText(eps float64) string {
	if f, e := math.Frexp(eps); f == 0.5 && e <= 0 {
		return fmt.Sprintf("2^%d", e-1)
	}
	return fmt.Sprintf("%g", eps)
}

// LMPoint is one point of a loss curve: the mean cross-entropy (nats)
// after Step steps (for the training curve, of the LogEvery batches that
// end at Step).
type LMPoint struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"`
	// Skipped is, on the training curve of a fused head, the fraction of
	// the gradient tiles of those batches that filtering skipped.
	Skipped float64 `json:"skipped,omitempty"`
}

// LMHeadResult is the outcome of training with one head.
type LMHeadResult struct {
	Head LMHead `json:"head"`
	// StepSeconds is the median wall time of a training step (batch
	// assembly, forward, head, backward, update), HeadSeconds the median
	// of the head's part.
	StepSeconds float64 `json:"step_seconds"`
	HeadSeconds float64 `json:"head_seconds"`
	// ScratchBytes is the largest scratch memory of the head in a step
	// (LMStepStats.ScratchBytes).
	ScratchBytes int64 `json:"scratch_bytes"`
	// Tiles and SkippedTiles add up the fused head's gradient tiles and
	// those skipped by filtering over the run.
	Tiles        int64 `json:"tiles"`
	SkippedTiles int64 `json:"skipped_tiles"`
	// ValLoss is the validation cross-entropy (nats) after the last
	// step, and ValPerplexity its exponential.
	ValLoss       float64 `json:"val_loss"`
	ValPerplexity float64 `json:"val_perplexity"`
	// Train and Val are the loss curves.
	Train []LMPoint `json:"train"`
	Val   []LMPoint `json:"val"`
	// Seconds is the wall time of the run's training steps (without
	// validation).
	Seconds float64 `json:"seconds"`
}

// CorpusStats summarises the corpus of a run.
type CorpusStats struct {
	Root          string  `json:"root"`
	Vocab         int     `json:"vocab"`
	Distinct      int     `json:"distinct"`
	TrainFiles    int     `json:"train_files"`
	ValFiles      int     `json:"val_files"`
	TrainPackages int     `json:"train_packages"`
	ValPackages   int     `json:"val_packages"`
	TrainTokens   int     `json:"train_tokens"`
	ValTokens     int     `json:"val_tokens"`
	TrainUnk      int     `json:"train_unk"`
	ValUnk        int     `json:"val_unk"`
	Generated     int     `json:"generated_files"`
	Rejected      int     `json:"rejected_files"`
	Seconds       float64 `json:"seconds"`
}

// Stats returns the summary of c.
func (c *Corpus) Stats() CorpusStats {
	return CorpusStats{Root: c.Config.Root, Vocab: len(c.Vocab), Distinct: c.Distinct,
		TrainFiles: c.Train.Files(), ValFiles: c.Val.Files(), TrainPackages: c.Train.Packages, ValPackages: c.Val.Packages,
		TrainTokens: len(c.Train.Tokens), ValTokens: len(c.Val.Tokens), TrainUnk: c.Train.Unk, ValUnk: c.Val.Unk,
		Generated: c.Generated, Rejected: c.Rejected, Seconds: c.Seconds}
}

// LMResults is the outcome of the language-model workload.
type LMResults struct {
	Config LMConfig    `json:"config"`
	Corpus CorpusStats `json:"corpus"`
	// Params is the model's parameter count.
	Params int `json:"params"`
	// ValScored is the number of validation targets scored, and
	// UnigramLoss the cross-entropy of the training split's unigram
	// model on them (see Corpus.UnigramLoss).
	ValScored   int     `json:"val_scored"`
	UnigramLoss float64 `json:"unigram_loss"`
	// Heads holds the runs in the order of LMHeads.
	Heads []LMHeadResult `json:"heads"`
	// Samples are the pieces of Go source the first head's model wrote,
	// with the sampler chain SampleChain (seeded by Config.Seed).
	Samples     []LMSample `json:"samples,omitempty"`
	SampleChain string     `json:"sample_chain,omitempty"`
	// MaxRSSBytes is the process's peak resident memory at the end (the
	// corpus and all three runs together; 0 where the system does not
	// report it).
	MaxRSSBytes int64     `json:"max_rss_bytes"`
	Threads     int       `json:"threads"`
	GoVersion   string    `json:"go_version"`
	Platform    string    `json:"platform"`
	Kernels     string    `json:"kernels"`
	Started     time.Time `json:"started"`
	Seconds     float64   `json:"seconds"`
}

// LMRunInfo identifies a run of the workload in progress reports.
type LMRunInfo struct {
	// Index counts runs from 1 to Total.
	Index, Total int
	Head         LMHead
	Steps        int
}

// LMEvents are the progress callbacks of the workload; nil fields are
// skipped. They are called from the goroutine of RunLM. The runs advance
// together, one step of every run after the other, so the events of
// different runs interleave.
type LMEvents struct {
	// Start and Done bracket each run.
	Start func(r LMRunInfo)
	Done  func(r LMRunInfo, res LMHeadResult)
	// Step is called after every update (step counts from 1) with the
	// batch's loss.
	Step func(r LMRunInfo, step int, loss float64)
	// Train is called with every point of the training curve, Val with
	// every validation.
	Train func(r LMRunInfo, p LMPoint)
	Val   func(r LMRunInfo, p LMPoint)
}

// seed tags of the workload (see subSeed).
const (
	seedLMInit uint64 = iota + 101
	seedLMBatch
)

// RunLM trains the model of c on the corpus once per head of
// LMHeads(c.FilterEps), from the same initial weights and with the same
// batches, and scores each on the validation split with the fused head's
// forward pass.
//
// A step draws c.Batch target positions uniformly, with replacement, from
// the training tokens that have c.Context tokens of their own file before
// them (a generator seeded by the seed and the step), and updates every
// parameter with Adam. The runs advance in lockstep — step s of every
// run, in the order of LMHeads, then step s+1 — each on all c.Threads
// threads, so that a change in the machine's load between the start and
// the end weighs on all of their step times alike.
func RunLM(ctx context.Context, c LMConfig, corp *Corpus, ev LMEvents) (*LMResults, error) {
	start := time.Now()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	k := c.Context
	trainPos := corp.Train.Positions(k)
	valPos := corp.Val.Positions(k)
	if len(trainPos) == 0 || len(valPos) == 0 {
		return nil, fmt.Errorf("lab: the corpus has %d training and %d validation tokens with %d tokens of context in their file; need some of both", len(trainPos), len(valPos), k)
	}
	if c.ValTokens > 0 && c.ValTokens < len(valPos) {
		sub := make([]int32, c.ValTokens)
		for i := range sub {
			sub[i] = valPos[int(int64(i)*int64(len(valPos))/int64(c.ValTokens))]
		}
		valPos = sub
	}
	valCtx, valTgt := gatherLM(&corp.Val, valPos, k, nil, nil)
	vocab := len(corp.Vocab)
	res := &LMResults{Config: c, Corpus: corp.Stats(), ValScored: len(valPos), Threads: par.Threads(c.Threads),
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Kernels: vek.Accelerated(), Started: start}
	var err error
	if res.UnigramLoss, err = corp.UnigramLoss(&corp.Val, valPos); err != nil {
		return nil, err
	}
	m0, err := NewLM(vocab, k, c.Embed, c.Hidden, subSeed(c.Seed, seedLMInit))
	if err != nil {
		return nil, err
	}
	m0.Threads = c.Threads
	res.Params = len(m0.Params)
	valAt := map[int]bool{}
	for i := 1; i <= c.ValPoints; i++ {
		valAt[int(math.Round(float64(i)*float64(c.Steps)/float64(c.ValPoints)))] = true
	}

	heads := LMHeads(c.FilterEps)
	runs := make([]*lmRun, len(heads))
	for i, head := range heads {
		r := &lmRun{info: LMRunInfo{Index: i + 1, Total: len(heads), Head: head, Steps: c.Steps}, m: m0.clone(),
			res: LMHeadResult{Head: head}, stepT: make([]float64, 0, c.Steps), headT: make([]float64, 0, c.Steps)}
		if r.opt, err = NewOptimizer(OptimizerConfig{Name: "adam", LR: c.LR}, len(r.m.Params), nil, c.Threads); err != nil {
			return nil, err
		}
		r.grad = make([]float32, len(r.m.Params))
		runs[i] = r
		if ev.Start != nil {
			ev.Start(r.info)
		}
	}
	pos := make([]int32, c.Batch)
	var bctx, btgt []int32
	for step := 1; step <= c.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		g := newRNG(subSeed(c.Seed, seedLMBatch, uint64(step)))
		for i := range pos {
			pos[i] = trainPos[g.intn(len(trainPos))]
		}
		bctx, btgt = gatherLM(&corp.Train, pos, k, bctx, btgt)
		batchT := time.Since(t0).Seconds()
		for _, r := range runs {
			if err := r.step(step, bctx, btgt, batchT, c.LogEvery, c.Steps, ev); err != nil {
				return nil, fmt.Errorf("lab: %s head: %w", r.info.Head.Name, err)
			}
		}
		if !valAt[step] {
			continue
		}
		for _, r := range runs {
			l, err := r.m.Loss(valCtx, valTgt)
			if err != nil {
				return nil, fmt.Errorf("lab: %s head: validation after step %d: %w", r.info.Head.Name, step, err)
			}
			p := LMPoint{Step: step, Loss: l}
			r.res.Val = append(r.res.Val, p)
			if ev.Val != nil {
				ev.Val(r.info, p)
			}
		}
	}
	for _, r := range runs {
		h := &r.res
		last := h.Val[len(h.Val)-1]
		h.ValLoss, h.ValPerplexity = last.Loss, math.Exp(last.Loss)
		h.StepSeconds, h.HeadSeconds = median(r.stepT), median(r.headT)
		h.Seconds = r.seconds
		res.Heads = append(res.Heads, *h)
		if ev.Done != nil {
			ev.Done(r.info, *h)
		}
	}
	if c.Generate > 0 {
		prompts := genPrompts(corp, k, c.Generate)
		if res.Samples, err = GenerateLM(runs[0].m, corp, prompts, lmGenTokens, lmGenLines, LMGenChain, c.Seed); err != nil {
			return nil, fmt.Errorf("lab: generating: %w", err)
		}
		res.SampleChain = LMGenChain
	}
	res.MaxRSSBytes = maxRSS()
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// lmGenTokens and lmGenLines bound each generated sample.
const (
	lmGenTokens = 120
	lmGenLines  = 8
)

// gatherLM fills the contexts [len(pos)×k] and targets of the positions
// of s (reusing the slices given when long enough).
func gatherLM(s *Split, pos []int32, k int, ctx, tgt []int32) ([]int32, []int32) {
	if cap(ctx) < len(pos)*k {
		ctx = make([]int32, len(pos)*k)
	}
	if cap(tgt) < len(pos) {
		tgt = make([]int32, len(pos))
	}
	ctx, tgt = ctx[:len(pos)*k], tgt[:len(pos)]
	for i, t := range pos {
		copy(ctx[i*k:(i+1)*k], s.Tokens[int(t)-k:t])
		tgt[i] = s.Tokens[t]
	}
	return ctx, tgt
}

// lmRun is the state of one head's run in RunLM.
type lmRun struct {
	info         LMRunInfo
	m            *LM
	opt          Optimizer
	grad         []float32
	ws           LMWorkspace
	res          LMHeadResult
	stepT, headT []float64
	seconds      float64 // training time so far
	// The current window of the training curve.
	window                   float64
	inWindow, tiles, skipped int
}

// step trains r on one batch (whose assembly took batchT seconds) and
// records the step.
func (r *lmRun) step(step int, bctx, btgt []int32, batchT float64, logEvery, steps int, ev LMEvents) error {
	t0 := time.Now()
	st, err := r.m.Grad(&r.ws, bctx, btgt, r.info.Head, r.grad)
	if err != nil {
		return fmt.Errorf("step %d: %w", step, err)
	}
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		return fmt.Errorf("step %d: training loss %g (diverged; try a smaller learning rate)", step, st.Loss)
	}
	r.opt.Step(r.m.Params, r.grad)
	dt := batchT + time.Since(t0).Seconds()
	r.seconds += dt
	r.stepT = append(r.stepT, dt)
	r.headT = append(r.headT, st.HeadSeconds)
	h := &r.res
	h.ScratchBytes = max(h.ScratchBytes, st.ScratchBytes)
	h.Tiles += int64(st.Tiles)
	h.SkippedTiles += int64(st.SkippedTiles)
	r.window += st.Loss
	r.inWindow++
	r.tiles += st.Tiles
	r.skipped += st.SkippedTiles
	if ev.Step != nil {
		ev.Step(r.info, step, st.Loss)
	}
	if step%logEvery == 0 || step == steps {
		p := LMPoint{Step: step, Loss: r.window / float64(r.inWindow)}
		if r.tiles > 0 {
			p.Skipped = float64(r.skipped) / float64(r.tiles)
		}
		h.Train = append(h.Train, p)
		r.window, r.inWindow, r.tiles, r.skipped = 0, 0, 0, 0
		if ev.Train != nil {
			ev.Train(r.info, p)
		}
	}
	return nil
}

// median returns the median of x (the mean of the middle two for an even
// count); x is reordered.
func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	sort.Float64s(x)
	n := len(x)
	if n%2 == 1 {
		return x[n/2]
	}
	return (x[n/2-1] + x[n/2]) / 2
}

// errNoHeads is returned by the report writers for results without runs.
var errNoHeads = errors.New("lab: the results hold no run")
