package sample_test

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/sample"
)

func Example() {
	// One row of logits over a vocabulary of 8 tokens, and the tokens
	// generated so far.
	logits := []float32{1.5, 0.2, 3.1, -1, 2.9, 0, 0.7, 2.2}
	history := []int32{2, 4, 2}
	chain, err := sample.Parse("penalties=64,repeat=1.3;top_k=4;top_p=0.9;temp=0.7")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := sample.New(chain, 42)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := make([]float32, len(logits))
	if err := s.Probs(p, sample.Input{Logits: logits, History: history}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.3f\n", p)
	res, err := s.Sample(sample.Input{Logits: logits, History: history})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("token", res.Token, "p =", fmt.Sprintf("%.3f", math.Exp(res.LogProb)))
	// The penalty divides the logits of tokens 2 and 4 by 1.3; the top 4
	// (2, 4, 7, 0) reach 0.9 only with all four; at temperature 0.7:
	// Output:
	// [0.099 0.000 0.350 0.000 0.281 0.000 0.000 0.269]
	// token 0 p = 0.099
}

func ExampleParse() {
	chain, err := sample.Parse("top_k=40; top_p=0.95,min_keep=2; temp=0.8")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sample.Format(chain))
	fmt.Println(sample.Format(sample.Default()))
	_, err = sample.Parse("top_k=40;dist;temp=1")
	fmt.Println(err)
	// Output:
	// top_k=40;top_p=0.95,min_keep=2;temp=0.8
	// penalties=64,repeat=1,frequency=0,presence=0;dry=0,base=1.75,allowed_length=2,last_n=-1;top_n_sigma=-1;top_k=40;typical=1;top_p=0.95;min_p=0.05;xtc=0,threshold=0.1;temp=0.8;dist
	// sample: stage 2 (dist) draws the token and must be the last: bad value
}

func ExampleTopP() {
	// Four equal logits: p = 1/4 each. The shortest prefix (ties in id
	// order) whose mass reaches 0.5 is two tokens; 0.5 is hit exactly.
	s, _ := sample.New([]sample.Stage{sample.TopP(0.5)}, 1)
	p := make([]float32, 4)
	s.Probs(p, sample.Input{Logits: []float32{0, 0, 0, 0}})
	fmt.Println(p)
	// Output: [0.5 0.5 0 0]
}

func ExampleSampler_SampleBatch() {
	// Two sequences decoded together: row i draws from stream i, so the
	// tokens do not depend on the number of threads.
	rows := [][]float32{{0, 1, 2, 3}, {3, 2, 1, 0}}
	s, _ := sample.New([]sample.Stage{sample.TopK(2), sample.Temp(0.5)}, 7, sample.Threads(2))
	out := make([]sample.Result, len(rows))
	in := []sample.Input{{Logits: rows[0]}, {Logits: rows[1]}}
	if err := s.SampleBatch(in, out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out[0].Token >= 2, out[1].Token <= 1)
	// Output: true true
}

func ExampleLogProbs() {
	s, _ := sample.New([]sample.Stage{sample.Greedy()}, 1, sample.LogProbs(2))
	res, _ := s.Sample(sample.Input{Logits: []float32{0, float32(math.Log(3)), 0}})
	fmt.Printf("token %d, raw log-probability %.4f\n", res.Token, res.RawLogProb)
	for _, t := range res.Top {
		fmt.Printf("  %d: %.4f\n", t.Token, t.LogProb)
	}
	// Output:
	// token 1, raw log-probability -0.5108
	//   1: -0.5108
	//   0: -1.6094
}

func ExampleSampler_VerifyRow() {
	// A draft of two tokens checked against the target model: here the
	// draft's distribution is the target's, so both are accepted and a
	// third token is drawn from the target's last row.
	target := []float32{
		2, 0, 0, // after the history
		0, 2, 0, // after draft token 0
		0, 0, 2, // after draft token 1
	}
	s, _ := sample.New([]sample.Stage{sample.TopK(1)}, 1)
	v, err := s.Verify(sample.VerifyInput{
		Target:     target,
		Draft:      []int32{0, 1},
		DraftProbs: []float32{1, 0, 0, 0, 1, 0},
	})
	fmt.Println(v.Accepted, v.Token, err)
	// Output: 2 2 <nil>
}
