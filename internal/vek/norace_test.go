//go:build !race

package vek

const raceEnabled = false
