// Package golden loads the public reference cases under testdata/golden:
// one JSON object per line with a name, an op, params, inputs and expected
// outputs, computed in float64 by PyTorch. Non-finite numbers are written
// as the strings "Inf", "-Inf" and "NaN".
package golden

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
)

// Case is one reference case.
type Case struct {
	Name   string                     `json:"name"`
	Op     string                     `json:"op"`
	Params map[string]json.RawMessage `json:"params"`
	Inputs map[string]json.RawMessage `json:"inputs"`
	Expect map[string]json.RawMessage `json:"expect"`
}

// Dir is the directory holding the reference files.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "golden")
}

// Load reads every case of one file (e.g. "softmax.jsonl").
func Load(name string) ([]Case, error) {
	f, err := os.Open(filepath.Join(Dir(), name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []Case
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c Case
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		cases = append(cases, c)
	}
	return cases, sc.Err()
}

// Number is a float64 that also decodes the strings "Inf", "-Inf", "NaN".
type Number float64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Number) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch s {
		case "Inf", "+Inf", "inf", "Infinity":
			*n = Number(math.Inf(1))
		case "-Inf", "-inf", "-Infinity":
			*n = Number(math.Inf(-1))
		case "NaN", "nan":
			*n = Number(math.NaN())
		default:
			return fmt.Errorf("golden: bad number %q", s)
		}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Number(f)
	return nil
}

// Floats decodes a JSON number, vector or matrix (any nesting) into a flat
// float64 slice, row-major.
func Floats(raw json.RawMessage) ([]float64, error) {
	var n Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return []float64{float64(n)}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	var out []float64
	for _, e := range list {
		v, err := Floats(e)
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}

// Int decodes a JSON integer.
func Int(raw json.RawMessage) (int, error) {
	var i int
	err := json.Unmarshal(raw, &i)
	return i, err
}

// Float32s returns Floats rounded to float32.
func Float32s(raw json.RawMessage) ([]float32, error) {
	v, err := Floats(raw)
	out := make([]float32, len(v))
	for i, f := range v {
		out[i] = float32(f)
	}
	return out, err
}
