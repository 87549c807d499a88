package fsx

import "errors"

// ErrLocked is returned by Lock when another process holds the lock.
var ErrLocked = errors.New("locked by another process")
