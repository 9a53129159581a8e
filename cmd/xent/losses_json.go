package main

import (
	"io"
	"math"
	"strconv"

	"github.com/xentlab/xent/embedding"
	"github.com/xentlab/xent/loss"
)

// lossEntry is one loss in "xent losses --json".
type lossEntry struct {
	Name    string      `json:"name"`
	Kind    string      `json:"kind"` // "logits" or "embeddings"
	Catalog string      `json:"catalog,omitempty"`
	Summary string      `json:"summary"`
	Input   string      `json:"input"`
	Params  []lossParam `json:"params"`
}

type lossParam struct {
	Name    string `json:"name"`
	Default any    `json:"default"` // a number, or "Inf", "-Inf", "NaN"
	Doc     string `json:"doc,omitempty"`
}

// writeLossesJSON prints every registered loss, over logits and over
// embeddings, as one JSON object {"losses": [...]}.
func writeLossesJSON(w io.Writer) error {
	var all []lossEntry
	for _, s := range loss.Specs() {
		e := lossEntry{Name: s.Name, Kind: "logits", Catalog: s.Catalog, Summary: s.Summary, Input: s.InputText(), Params: []lossParam{}}
		for _, p := range s.Params {
			e.Params = append(e.Params, lossParam{p.Name, jsonNumber(p.Default), p.Doc})
		}
		all = append(all, e)
	}
	for _, s := range embedding.Specs() {
		e := lossEntry{Name: s.Name, Kind: "embeddings", Catalog: s.Catalog, Summary: s.Summary, Input: s.InputText(), Params: []lossParam{}}
		for _, p := range s.Params {
			e.Params = append(e.Params, lossParam{p.Name, jsonNumber(p.Default), p.Doc})
		}
		all = append(all, e)
	}
	return writeJSON(w, map[string]any{"losses": all})
}

// jsonNumber is v for JSON: the number when finite, otherwise its name
// ("Inf", "-Inf", "NaN"), which JSON has no number for.
func jsonNumber(v float64) any {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return v
}
