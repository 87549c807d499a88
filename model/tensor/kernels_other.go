//go:build !amd64 || purego

package tensor

// archKernels returns no assembly kernels: the portable Go kernel runs.
func archKernels() []*microKernel { return nil }

// archElem returns no assembly elementwise kernels: the portable ones run.
func archElem() *elemKernels { return nil }

// archElems returns no assembly elementwise kernel sets.
func archElems() []*elemKernels { return nil }
