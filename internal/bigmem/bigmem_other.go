//go:build !(linux && (amd64 || arm64))

package bigmem

type mapping struct{}

func float32s(n int) (*Slice, error) { return nil, ErrUnavailable }

func (s *Slice) set(i int, v float32) error { return ErrUnavailable }
