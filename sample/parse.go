package sample

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse reads a chain written as stages separated by ";", each a name
// with an optional main value and optional key=value parameters
// separated by ",":
//
//	top_k=40;top_p=0.95,min_keep=2;min_p=0.05;temp=0.8
//	penalties=64,repeat=1.1,frequency=0.1,presence=0;dry=0.8,base=1.75,allowed_length=2,last_n=-1,breakers=13|1 2
//	logit_bias=15:-inf|27:2.5;temp=0.7,range=0.3,exponent=1;mirostat_v2=5,eta=0.1
//
// The names are those of the stage functions: logit_bias
// (TOKEN:BIAS|…), penalties (main value last_n; keys last_n, repeat,
// frequency, presence; defaults 64, 1, 0, 0), dry (main value multiplier;
// keys base, allowed_length, last_n, breakers as token sequences
// separated by "|", tokens by spaces; defaults 1.75, 2, −1, none),
// top_n_sigma, top_k, typical, top_p, min_p, xtc (main value probability;
// key threshold, default 0.1), temp (keys range and exponent for the
// dynamic temperature; exponent defaults to 1), greedy, dist, mirostat
// (main value tau; keys eta and m, defaults 0.1 and 100) and mirostat_v2
// (tau; eta). Every truncating stage takes min_keep. "default" alone is
// Default(). Spaces around names and values are ignored; an empty chain
// is Dist alone.
func Parse(chain string) ([]Stage, error) {
	if strings.TrimSpace(chain) == "default" {
		return Default(), nil
	}
	var out []Stage
	for i, part := range strings.Split(chain, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		s, err := parseStage(part)
		if err != nil {
			return nil, fmt.Errorf("sample: chain stage %d %q: %w", i+1, part, err)
		}
		out = append(out, s)
	}
	if err := checkChain(out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseStage(part string) (Stage, error) {
	fields := strings.Split(part, ",")
	name, main, hasMain := strings.Cut(fields[0], "=")
	name = strings.ReplaceAll(strings.TrimSpace(name), "-", "_")
	main = strings.TrimSpace(main)
	kv := map[string]string{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return Stage{}, fmt.Errorf("parameter %q is not key=value: %w", strings.TrimSpace(f), ErrValue)
		}
		if _, dup := kv[k]; dup {
			return Stage{}, fmt.Errorf("parameter %q given twice: %w", k, ErrValue)
		}
		kv[k] = strings.TrimSpace(v)
	}
	var s Stage
	var err error
	num := func(v string, what string) float64 {
		if err != nil {
			return 0
		}
		x, e := strconv.ParseFloat(v, 64)
		if e != nil {
			err = fmt.Errorf("%s %q is not a number: %w", what, v, ErrValue)
		}
		return x
	}
	integer := func(v string, what string) int {
		if err != nil {
			return 0
		}
		x, e := strconv.Atoi(v)
		if e != nil {
			err = fmt.Errorf("%s %q is not an integer: %w", what, v, ErrValue)
		}
		return x
	}
	// take returns and removes the parameter key (def when absent).
	take := func(key, def string) string {
		if v, ok := kv[key]; ok {
			delete(kv, key)
			return v
		}
		return def
	}
	need := func() string {
		if !hasMain || main == "" {
			if err == nil {
				err = fmt.Errorf("%s needs a value (%s=…): %w", name, name, ErrValue)
			}
		}
		return main
	}
	switch name {
	case "logit_bias":
		var bs []Bias
		for _, e := range strings.Split(need(), "|") {
			if err != nil {
				break
			}
			t, b, ok := strings.Cut(e, ":")
			if !ok {
				err = fmt.Errorf("logit_bias entry %q is not TOKEN:BIAS: %w", e, ErrValue)
				break
			}
			bs = append(bs, Bias{Token: int32(integer(strings.TrimSpace(t), "token")), Value: float32(num(strings.TrimSpace(b), "bias"))})
		}
		s = LogitBias(bs...)
	case "penalties":
		last := "64"
		if hasMain {
			last = main
		}
		if v, ok := kv["last_n"]; ok && hasMain && v != main {
			err = fmt.Errorf("last_n given twice: %w", ErrValue)
		}
		last = take("last_n", last)
		s = Penalties(integer(last, "last_n"), num(take("repeat", "1"), "repeat"), num(take("frequency", "0"), "frequency"), num(take("presence", "0"), "presence"))
	case "dry":
		d := DRYParams{Multiplier: num(need(), "multiplier"), Base: num(take("base", "1.75"), "base"),
			AllowedLength: integer(take("allowed_length", "2"), "allowed_length"), LastN: integer(take("last_n", "-1"), "last_n")}
		if b := take("breakers", ""); b != "" {
			for _, seq := range strings.Split(b, "|") {
				var toks []int32
				for _, t := range strings.Fields(seq) {
					toks = append(toks, int32(integer(t, "breaker token")))
				}
				d.Breakers = append(d.Breakers, toks)
			}
		}
		s = DRY(d)
	case "top_n_sigma":
		s = TopNSigma(num(need(), name))
	case "top_k":
		s = TopK(integer(need(), name))
	case "typical":
		s = Typical(num(need(), name))
	case "top_p":
		s = TopP(num(need(), name))
	case "min_p":
		s = MinP(num(need(), name))
	case "xtc":
		s = XTC(num(need(), "probability"), num(take("threshold", "0.1"), "threshold"))
	case "temp", "temperature":
		t := num(need(), "temperature")
		r, hasR := kv["range"]
		if hasR {
			delete(kv, "range")
			s = DynTemp(t, num(r, "range"), num(take("exponent", "1"), "exponent"))
		} else {
			s = Temp(t)
		}
	case "greedy", "dist":
		if hasMain {
			err = fmt.Errorf("%s takes no value: %w", name, ErrValue)
		}
		s = Dist()
		if name == "greedy" {
			s = Greedy()
		}
	case "mirostat":
		s = Mirostat(num(need(), "tau"), num(take("eta", "0.1"), "eta"), integer(take("m", "100"), "m"))
	case "mirostat_v2":
		s = MirostatV2(num(need(), "tau"), num(take("eta", "0.1"), "eta"))
	default:
		return Stage{}, fmt.Errorf("unknown stage %q: %w", name, ErrValue)
	}
	if err != nil {
		return Stage{}, err
	}
	if v, ok := kv["min_keep"]; ok {
		delete(kv, "min_keep")
		if !s.kind.truncating() {
			return Stage{}, fmt.Errorf("%s takes no min_keep: %w", name, ErrValue)
		}
		n := integer(v, "min_keep")
		if err != nil {
			return Stage{}, err
		}
		s = s.MinKeep(n)
	}
	for k := range kv {
		return Stage{}, fmt.Errorf("%s has no parameter %q: %w", name, k, ErrValue)
	}
	return s, s.check()
}
