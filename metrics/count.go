package metrics

// countGreater returns #{i : x_i > t}; x holds no NaN.
func countGreater[E Float](x []E, t E) int {
	n := 0
	if hasAVX2 {
		switch v := any(x).(type) {
		case []float32:
			m := len(v) &^ 7
			n = countGT32AVX2(v[:m], any(t).(float32))
			x = x[m:]
		case []float64:
			m := len(v) &^ 3
			n = countGT64AVX2(v[:m], any(t).(float64))
			x = x[m:]
		}
	}
	return n + countGreaterGo(x, t)
}

// countGreaterGo is the portable twin of the counting kernels.
func countGreaterGo[E Float](x []E, t E) int {
	var a, b int
	for len(x) >= 2 {
		a += b2i(x[0] > t)
		b += b2i(x[1] > t)
		x = x[2:]
	}
	if len(x) == 1 {
		a += b2i(x[0] > t)
	}
	return a + b
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
