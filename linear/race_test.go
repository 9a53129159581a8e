//go:build race

package linear

// raceEnabled: under the race detector sync.Pool drops items at random,
// so allocation counts measure garbage, not the head's scratch memory.
const raceEnabled = true
