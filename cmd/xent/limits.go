package main

import (
	"fmt"
	"io"
	"os"

	"github.com/xentlab/xent/npy"
)

// Limits of the size flags. Each is far beyond any sensible run and far
// below what would exhaust a machine, so that a mistyped size is a clear
// error instead of an out-of-memory crash or a run that never ends.
const (
	maxThreads  = 4096    // --threads, --jobs
	maxReps     = 1 << 20 // --reps
	maxBins     = 1 << 20 // --bins
	maxBoot     = 1 << 20 // --bootstrap
	maxEpochs   = 1 << 20 // --epochs
	maxSteps    = 1 << 30 // --steps
	maxUnits    = 1 << 20 // --hidden, --embed, --context
	maxVocab    = 1 << 26 // --vocab
	maxBatch    = 1 << 24 // --batch
	maxExamples = 1 << 40 // --holdout, --train-size, --test-size, --val-tokens
)

// memLimit is the most memory, in bytes, that the sizes on a command line
// may ask for: the machine's physical memory (a variable for tests).
var memLimit = physicalMemory()

// checkRange refuses an integer flag outside [lo, hi].
func checkRange(flag string, v, lo, hi int) error {
	if v < lo || v > hi {
		return usagef("--%s %d, want %d to %d", flag, v, lo, hi)
	}
	return nil
}

// checkMemory refuses a run whose sizes need more than memLimit bytes;
// bytes is computed in float64 so that no product can overflow.
func checkMemory(what string, bytes float64) error {
	if bytes > float64(memLimit) {
		return usagef("%s needs about %s of memory, more than the %s of this machine", what, byteSize(bytes), byteSize(float64(memLimit)))
	}
	return nil
}

// checkThreads refuses --threads outside [0, maxThreads].
func checkThreads(v int) error { return checkRange("threads", v, 0, maxThreads) }

// byteSize writes a byte count with a binary unit.
func byteSize(b float64) string {
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"} {
		if b < 1024 || u == "PiB" {
			return fmt.Sprintf("%.3g %s", b, u)
		}
		b /= 1024
	}
	return ""
}

// checkArraySize refuses an .npy input whose data, read as 8-byte values,
// would not fit in memory (a header may announce any shape; a pipe is
// not size-checked against the file).
func checkArraySize(what, path string, h npy.Header) error {
	return checkArrayBytes(what, path, h, 8)
}

// checkArrayBytes is checkArraySize for an array held with elem bytes per
// element.
func checkArrayBytes(what, path string, h npy.Header, elem float64) error {
	n := 1.0
	for _, d := range h.Shape {
		n *= float64(d)
	}
	if err := checkMemory(fmt.Sprintf("%s %s (shape %v)", what, path, h.Shape), elem*n); err != nil {
		return fmt.Errorf("%s", err.Error())
	}
	return nil
}

// defaultMemory is the limit where the physical memory cannot be read.
const defaultMemory = 1 << 40

// maxCurveBytes bounds the CSV file of xent fit: a scaling curve has a
// few thousand lines at most.
const maxCurveBytes = 64 << 20

// readLimited reads the file at path, refusing one of more than limit
// bytes (or an endless stream such as /dev/zero) after reading at most
// limit+1 bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: more than %s; not a curve file", path, byteSize(float64(limit)))
	}
	return b, nil
}

// benchChecks bounds the flags every benchmark has: --threads, --reps
// and the memory its sizes need.
func benchChecks(threads, reps int, bytes float64) error {
	if err := checkThreads(threads); err != nil {
		return err
	}
	if err := checkRange("reps", reps, 1, maxReps); err != nil {
		return err
	}
	return checkMemory("the sizes", bytes)
}
