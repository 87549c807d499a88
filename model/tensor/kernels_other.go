//go:build !amd64 || purego

package tensor

// archKernels returns no assembly kernels: the portable Go kernel runs.
func archKernels() []*microKernel { return nil }
