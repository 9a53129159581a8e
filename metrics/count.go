package metrics

// countGreater returns #{i : x_i > t}; x holds no NaN.
func countGreater[E Float](x []E, t E) int {
	switch v := any(x).(type) {
	case []float32:
		return countGT32(v, any(t).(float32))
	case []float64:
		return countGT64(v, any(t).(float64))
	}
	return countGreaterGo(x, t)
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
