// Package tiercheck holds no code, only a test: that the public
// computations of xent (the softmax family, every registered loss, the
// fused head) return the same bits on every kernel tier — AVX-512, AVX2
// and portable Go. CI runs it on each tier against one recorded hash.
package tiercheck
