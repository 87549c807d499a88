package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
}

// cacheRun is one run's use of the cache: it holds the cache's lock shared
// (so gc cannot delete what the run is using) and keeps the run's log.
type cacheRun struct {
	c      *Cache
	path   string
	log    hclog.Logger
	unlock func()

	mu   sync.Mutex
	data runLog
	seen map[string]bool
}

// beginRun starts a run's use of the cache.
func (c *Cache) beginRun(runDir, recipe string, log hclog.Logger) (*cacheRun, error) {
	lock := filepath.Join(c.dir, cacheLock)
	unlock, err := lockFile(lock, false, false)
	if errors.Is(err, errLocked) {
		log.Info("waiting for the stage cache: `lopper cache gc` is running", "cache", c.dir)
		unlock, err = lockFile(lock, false, true)
	}
	if err != nil {
		return nil, fmt.Errorf("cache lock %s: %w", lock, err)
	}
	removed, err := c.removeStale()
	if len(removed) > 0 {
		log.Info("removed the temporary files of killed runs from the cache", "cache", c.dir, "paths", removed)
	}
	if err != nil {
		log.Warn("cannot remove the temporary files of killed runs from the cache", "cache", c.dir, "error", err)
	}
	sum := sha256.Sum256([]byte(runDir))
	cr := &cacheRun{c: c, log: log, unlock: unlock, seen: map[string]bool{},
		path: filepath.Join(c.dir, cacheRuns, hex.EncodeToString(sum[:8])+".json")}
	now := time.Now().UTC()
	cr.data = runLog{RunDir: runDir, Recipe: recipe, Started: now}
	if old, err := readRunLog(cr.path); err == nil && old.RunDir == runDir {
		cr.data.Started, cr.data.Entries = old.Started, old.Entries // a resumed run
		for _, k := range old.Entries {
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
func (cr *cacheRun) use(key string) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.seen[key] {
		return
	}
	cr.seen[key] = true
	cr.data.Entries = append(cr.data.Entries, key)
	slices.Sort(cr.data.Entries)
	cr.data.Updated = time.Now().UTC()
	if err := cr.writeLocked(); err != nil {
		// The entry is stored; only gc's bookkeeping lags (gc keeps entries
		// it cannot attribute until they age out with their runs).
		cr.log.Warn("cannot update the cache's run log", "path", cr.path, "error", err)
	}
}

func (cr *cacheRun) writeLocked() error {
	b, err := json.MarshalIndent(cr.data, "", "  ")
	if err != nil {
		return err
	}
	return fsx.WriteFileAtomic(cr.path, append(b, '\n'), 0o644)
}

// end releases the cache's lock.
func (cr *cacheRun) end() { cr.unlock() }

func readRunLog(path string) (*runLog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var l runLog
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &l, nil
}

// ensureDir creates dir when missing and makes its entry in the parent
// durable.
func ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fsx.SyncDir(filepath.Dir(dir))
}
