package main

import (
	"fmt"

	"github.com/xentlab/xent/loss"
)

// withGroups gives the losses that group rows their groups from --groups
// (and --tasks): bag ids for bag (rows of a bag share a mean response),
// sequence ids for eisl (a sequence's rows are its positions, in row
// order), sample ids for mft with task ids from --tasks. Without the
// flags the losses keep their defaults (one bag, one sequence, one sample
// per task and one task); for any other loss the flags are a usage error.
func withGroups(l loss.Loss, f evalFlags, rows int) (loss.Loss, error) {
	if f.groups == "" && f.tasks == "" {
		return l, nil
	}
	read := func(path, what string) ([]int32, error) {
		if path == "" {
			return nil, nil
		}
		v, err := readInts(path, what, rows)
		if err != nil {
			return nil, err
		}
		ids := make([]int32, len(v))
		for i, x := range v {
			if x < -1<<31 || x > 1<<31-1 {
				return nil, fmt.Errorf("%s %s: id %d at row %d does not fit 32 bits", what, path, x, i)
			}
			ids[i] = int32(x)
		}
		return ids, nil
	}
	switch g := l.(type) {
	case *loss.Bag, *loss.EISL:
		if f.tasks != "" {
			return nil, usagef("--tasks applies to mft only")
		}
		ids, err := read(f.groups, "groups")
		if err != nil {
			return nil, err
		}
		if b, ok := g.(*loss.Bag); ok {
			return b.ForBags(ids), nil
		}
		return g.(*loss.EISL).ForSequences(ids), nil
	case *loss.MFT:
		samples, err := read(f.groups, "groups")
		if err != nil {
			return nil, err
		}
		tasks, err := read(f.tasks, "tasks")
		if err != nil {
			return nil, err
		}
		for i, t := range tasks {
			if t < 0 {
				return nil, fmt.Errorf("tasks %s: task id %d at row %d, want ≥ 0", f.tasks, t, i)
			}
		}
		return g.ForBatch(samples, tasks), nil
	}
	return nil, usagef("--groups and --tasks apply to bag, eisl and mft only, not %s", l.Name())
}
