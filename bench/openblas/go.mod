module github.com/xentlab/xent/bench/openblas

go 1.26.0
