//go:build purego || !amd64

package vek

const (
	hasAVX2   = false
	hasAVX512 = false
)
