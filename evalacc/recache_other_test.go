//go:build !unix

package evalacc

func recache(string) {}
