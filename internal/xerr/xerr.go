// Package xerr declares the error values shared by every package of the
// module. Each public package re-exports them under its own name
// (softmax.ErrShape, loss.ErrValue, ...), and those names all denote the
// same two values, so errors.Is(err, linear.ErrValue) holds for a value
// error that comes from loss, softmax or any other package.
package xerr

import "errors"

var (
	// ErrShape is wrapped by every error about the shape of arguments:
	// lengths, column counts, buffers that do not match.
	ErrShape = errors.New("bad shape")
	// ErrValue is wrapped by every error about a value: a label out of
	// range, a non-finite number, a parameter outside its domain.
	ErrValue = errors.New("bad value")
)
