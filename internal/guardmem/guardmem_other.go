//go:build !linux

package guardmem

func fenced(int) (lead, tail []byte, free func(), err error) {
	return nil, nil, func() {}, ErrUnavailable
}
