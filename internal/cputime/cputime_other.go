//go:build !linux

package cputime

import "errors"

func thread() (float64, error) {
	return 0, errors.New("cputime: thread CPU time is only read on Linux")
}
