package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/internal/fsx"
)

// runLog is runs/<id>.json: the cache entries one run used (computed or
// reused), which `lopper cache gc --keep-last N` keeps for the N runs
// updated last. A resumed run keeps its log (the id hashes the run dir).
type runLog struct {
	RunDir  string    `json:"run_dir"`
	Recipe  string    `json:"recipe"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	Entries []string  `json:"entries"`
	// Keeps are the other things in the store the run needs kept: the
	// input objects it uploaded or reuses (inputs/ab/HEX) and its
	// transfer directories (work/HEX, payloads/HEX). A run logs them
	// before it checks or writes them, so that gc, which reads the logs
	// first, keeps them.
	Keeps []string `json:"keeps,omitempty"`
}

// cacheRun is one run's use of the cache: it holds the cache's lock shared
// (so gc cannot delete what the run is using) and keeps the run's log.
type cacheRun struct {
	c      *Cache
	ctx    context.Context // for the store: never cancelled
	name   string
	log    hclog.Logger
	unlock func()

	mu   sync.Mutex
	data runLog
	seen map[string]bool
}

// beginRun starts a run's use of the cache. What it writes is not
// cancelled with the run: a run's log outlives an interrupt.
func (c *Cache) beginRun(runDir, recipe string, log hclog.Logger) (*cacheRun, error) {
	ctx := context.Background()
	unlock, err := c.s.Lock(false, false)
	if errors.Is(err, fsx.ErrLocked) {
		log.Info("waiting for the stage cache: `lopper cache gc` is running", "cache", c.Location())
		unlock, err = c.s.Lock(false, true)
	}
	if err != nil {
		return nil, fmt.Errorf("cache lock %s: %w", c.Location(), err)
	}
	removed, err := c.s.Clean(ctx)
	if len(removed) > 0 {
		log.Info("removed the temporary files of killed runs from the cache", "cache", c.Location(), "paths", removed)
	}
	if err != nil {
		log.Warn("cannot remove the temporary files of killed runs from the cache", "cache", c.Location(), "error", err)
	}
	sum := sha256.Sum256([]byte(runDir))
	cr := &cacheRun{c: c, ctx: ctx, log: log, unlock: unlock, seen: map[string]bool{},
		name: cacheRuns + "/" + hex.EncodeToString(sum[:8]) + ".json"}
	now := time.Now().UTC()
	cr.data = runLog{RunDir: runDir, Recipe: recipe, Started: now}
	if old, err := c.readRunLog(ctx, cr.name); err == nil && old.RunDir == runDir {
		cr.data.Started, cr.data.Entries, cr.data.Keeps = old.Started, old.Entries, old.Keeps // a resumed run
		for _, k := range old.Entries {
			cr.seen[k] = true
		}
		for _, k := range old.Keeps {
			cr.seen[k] = true
		}
	}
	cr.data.Updated = now
	if err := cr.writeLocked(); err != nil {
		unlock()
		return nil, err
	}
	return cr, nil
}

// use records that the run used the entry with this key.
func (cr *cacheRun) use(key string) { cr.add(&cr.data.Entries, key) }

// keep records that the run needs the store's name kept (Keeps); the log
// is written before keep returns.
func (cr *cacheRun) keep(name string) { cr.add(&cr.data.Keeps, name) }

// add adds s to the log's list and writes the log.
func (cr *cacheRun) add(list *[]string, s string) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.seen[s] {
		return
	}
	cr.seen[s] = true
	*list = append(*list, s)
	slices.Sort(*list)
	cr.data.Updated = time.Now().UTC()
	if err := cr.writeLocked(); err != nil {
		// The entry is stored; only gc's bookkeeping lags (gc keeps entries
		// it cannot attribute until they age out with their runs).
		cr.log.Warn("cannot update the cache's run log", "path", cr.c.s.Location(cr.name), "error", err)
	}
}

func (cr *cacheRun) writeLocked() error {
	b, err := json.MarshalIndent(cr.data, "", "  ")
	if err != nil {
		return err
	}
	return cr.c.s.Put(cr.ctx, cr.name, append(b, '\n'))
}

// end releases the cache's lock.
func (cr *cacheRun) end() { cr.unlock() }

// readRunLog reads the run log called name.
func (c *Cache) readRunLog(ctx context.Context, name string) (*runLog, error) {
	b, err := c.s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	var l runLog
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", c.s.Location(name), err)
	}
	return &l, nil
}
