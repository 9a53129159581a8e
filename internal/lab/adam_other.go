//go:build !amd64 || purego

package lab

// adamKernel applies one Adam update to p, m, v from g (equal lengths).
func adamKernel(p, g, m, v []float32, k *adamConsts) {
	adamGeneric(p, g, m, v, k)
}
