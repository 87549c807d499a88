// Package pipelinetest provides test-only stage kinds for exercising the
// pipeline engine without models: `emit` produces metrics and a numeric
// artifact, and can sleep, block until cancelled, fail, panic, or meet
// other stages at a rendezvous (to prove that they run at the same time).
// Only tests import it; the lopper program never registers these kinds.
package pipelinetest

import (
	"context"
	"fmt"
	"sync"
)

// Kit is a set of test kinds sharing instrumentation.
type Kit struct {
	mu        sync.Mutex
	active    int
	maxActive int
	runs      map[string]int // stage path → Run calls
	order     []string       // stage paths in start order
	meets     map[string]*meeting
}

// New returns an empty kit.
func New() *Kit {
	return &Kit{runs: map[string]int{}, meets: map[string]*meeting{}}
}

// MaxActive is the largest number of emit stages that were running at once.
func (k *Kit) MaxActive() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.maxActive
}

// Runs returns how many times the stage instance at path (e.g.
// "loop[1]/step") was run.
func (k *Kit) Runs(path string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.runs[path]
}

// Order returns the stage instance paths in the order they started.
func (k *Kit) Order() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.order...)
}

func (k *Kit) start(path string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.active++
	k.maxActive = max(k.maxActive, k.active)
	k.runs[path]++
	k.order = append(k.order, path)
}

func (k *Kit) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.active--
}

// meeting is a rendezvous: every party waits until all have arrived.
type meeting struct {
	arrived int
	all     chan struct{}
}

// meet blocks until parties stages have called meet with the same name, or
// ctx ends.
func (k *Kit) meet(ctx context.Context, name string, parties int) error {
	k.mu.Lock()
	m, ok := k.meets[name]
	if !ok {
		m = &meeting{all: make(chan struct{})}
		k.meets[name] = m
	}
	m.arrived++
	if m.arrived == parties {
		close(m.all)
	}
	k.mu.Unlock()
	select {
	case <-m.all:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rendezvous %s: %w", name, ctx.Err())
	}
}
