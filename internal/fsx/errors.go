package fsx

import "errors"

var (
	// errBusy: another live process holds the lock.
	errBusy = errors.New("held by a live process")
	// errUnsupported: the file system (or OS) has no advisory locks.
	errUnsupported = errors.New("advisory locks not supported")
)
