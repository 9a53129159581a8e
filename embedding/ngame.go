package embedding

import "sort"

// nameNgameTriplet is the registry name of this file's loss.
const nameNgameTriplet = "ngame-triplet"

// NGAMETriplet is the hardness-weighted triplet margin loss with in-batch
// hard negatives of NGAME (catalog A30: Dahiya et al., "NGAME: Negative
// Mining-aware Mini-batching for Extreme Classification", 2023; the
// authors' TripletMarginLossOHNM). With cosine similarities
// S_ij = ⟨ẑ_i, p̂_j⟩, the positive s_p = S_ii and the k most similar
// in-batch negatives s_n of each anchor:
//
//	h_n = max(0, s_n − s_p + margin)
//	π   = softmax over the k negatives of (s_n·1[h_n > 0]/τ)     (Aggressive)
//	L   = (1/(N·k)) Σ_i Σ_n h_n·π_n     (π_n = 1 without Aggressive)
//
// Entries with h_n = 0 keep the logit 0 (not −∞), as in the authors'
// code. π stays in the graph (derived): ∂L/∂s_p = −(1/(Nk)) Σ_n π_n·1[h_n>0],
// ∂L/∂s_n = (1/(Nk))·1[h_n>0]·π_n·(1 + (h_n − Σ_m π_m h_m)/τ).
//
// Inputs: Embeddings (queries) and Positives (documents) [N, Dim]; with
// Labels, documents sharing the anchor's label are not negatives (the
// code's −10 mask). k is min(K, N − 1); an anchor with fewer candidate
// negatives pads with entries of similarity −10 (hinge 0, logit 0), as
// the catalog describes. This differs from the authors' code, which
// selects the top k of the masked similarities and then re-reads the
// real similarity of every selected entry: when fewer than k negatives
// exist it picks masked entries (the anchor's own positive, documents of
// its label) and scores them with their real similarities, so they enter
// the loss and its gradient as negatives (which masked entries it picks
// among the tied −10s is left to torch.topk). Among equal similarities
// the lower index is taken first. A batch of one has loss 0. Defaults: margin 0.3, K = 10,
// τ = 0.1, aggressive (the siamese-phase configuration).
type NGAMETriplet struct {
	Margin, Temperature float64
	K                   int
	Aggressive          bool
}

// Name returns "ngame-triplet".
func (*NGAMETriplet) Name() string { return nameNgameTriplet }

// Eval32 evaluates the loss on float32 inputs.
func (l *NGAMETriplet) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *NGAMETriplet) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*NGAMETriplet) lossName() string { return nameNgameTriplet }
func (*NGAMETriplet) reads() needs     { return needPositives | optLabels }

func (l *NGAMETriplet) eval(b *batch) (float64, error) {
	if err := param(b.name, "temperature", l.Temperature, l.Temperature > 0); err != nil {
		return 0, err
	}
	if err := param(b.name, "margin", l.Margin, true); err != nil {
		return 0, err
	}
	if l.K < 1 {
		return 0, valueErr(b.name, "k = %d, want ≥ 1", l.K)
	}
	n := b.n
	k := min(l.K, n-1)
	if k == 0 {
		return 0, nil
	}
	zu, zn, pu, pn, err := maybeUnit(b.name, true, b.z, b.pos, b.d)
	if err != nil {
		return 0, err
	}
	s := gram(zu, pu, b.d)
	gs := make([]float64, n*n)
	var total float64
	sc := 1 / float64(n*k)
	cand := make([]int, 0, n)
	for i := 0; i < n; i++ {
		cand = cand[:0]
		for j := 0; j < n; j++ {
			if j != i && (b.labels == nil || b.labels[j] != b.labels[i]) {
				cand = append(cand, j)
			}
		}
		sort.SliceStable(cand, func(a, c int) bool { return s[i*n+cand[a]] > s[i*n+cand[c]] })
		negs := make([]float64, k)
		for t := range negs {
			negs[t] = -10
			if t < len(cand) {
				negs[t] = s[i*n+cand[t]]
			}
		}
		loss, gp, gn := ngameTerm(s[i*n+i], negs, l.Margin, l.Temperature, l.Aggressive)
		total += loss * sc
		gs[i*n+i] += gp * sc
		for t := 0; t < min(k, len(cand)); t++ {
			gs[i*n+cand[t]] += gn[t] * sc
		}
	}
	backPair(b, true, gs, zu, zn, pu, pn)
	return total, nil
}

// ngameTerm returns Σ_n h_n π_n for one anchor (not yet divided by N·k)
// and its gradients with respect to s_p and each s_n.
func ngameTerm(sp float64, sn []float64, margin, tau float64, aggressive bool) (float64, float64, []float64) {
	k := len(sn)
	h := make([]float64, k)
	pi := make([]float64, k)
	for t, v := range sn {
		h[t] = max(0, v-sp+margin)
	}
	if aggressive {
		logit := make([]float64, k)
		for t, v := range sn {
			if h[t] > 0 {
				logit[t] = v / tau
			}
		}
		logSoftmaxRow(pi, logit)
	} else {
		for t := range pi {
			pi[t] = 1
		}
	}
	var loss, hbar float64
	for t := range h {
		loss += h[t] * pi[t]
	}
	if aggressive {
		hbar = loss
	}
	gn := make([]float64, k)
	var gp float64
	for t := range sn {
		if !(h[t] > 0) {
			continue
		}
		gp -= pi[t]
		gn[t] = pi[t]
		if aggressive {
			gn[t] += pi[t] * (h[t] - hbar) / tau
		}
	}
	return loss, gp, gn
}

func init() {
	Register(Spec{
		Name:    nameNgameTriplet,
		Catalog: "A30",
		Summary: "NGAME's triplet margin loss over the k hardest in-batch negatives, softmax-weighted",
		Needs:   NeedsPositives | AcceptsLabels,
		Params: []Param{{"margin", 0.3, "hinge margin"}, {"k", 10, "hard negatives per anchor"},
			{"temperature", 0.1, "τ of the hardness softmax"}, {"aggressive", 1, "1: softmax weights; 0: plain mean"}},
		New: func(p map[string]float64) (Loss, error) {
			k, err := count(p, "k", 1)
			if err != nil {
				return nil, err
			}
			agg, err := flag(p, "aggressive")
			if err != nil {
				return nil, err
			}
			if err := param(nameNgameTriplet, "temperature", p["temperature"], p["temperature"] > 0); err != nil {
				return nil, err
			}
			if err := param(nameNgameTriplet, "margin", p["margin"], true); err != nil {
				return nil, err
			}
			return &NGAMETriplet{Margin: p["margin"], Temperature: p["temperature"], K: k, Aggressive: agg}, nil
		},
	})
}
