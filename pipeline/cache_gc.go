package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"lopper/internal/fsx"
)

// GCOptions configure Cache.GC.
type GCOptions struct {
	// KeepLast keeps what the KeepLast runs updated last used (the cache
	// keeps a log per run; a resumed run keeps its log); everything else
	// is removed. 0 empties the cache.
	KeepLast int
	// DryRun reports what would be removed without removing it.
	DryRun bool
}

// GCReport says what GC removed (or, in a dry run, would remove).
type GCReport struct {
	Runs, RunsRemoved       int
	Entries, EntriesRemoved int
	Objects, ObjectsRemoved int
	TempRemoved             int // leftovers of interrupted writes
	BytesRemoved            int64
	// Unknown lists what is in the cache's directories but not named as
	// the cache names its files (a file someone put there): gc leaves it
	// alone.
	Unknown []string
}

// GC removes the entries that none of the last opts.KeepLast runs used,
// the artifacts no remaining entry refers to, damaged entries, and the
// temporary files of interrupted writes. It needs the cache to itself: it
// fails rather than wait while a run is using the cache.
func (c *Cache) GC(opts GCOptions) (*GCReport, error) {
	if opts.KeepLast < 0 {
		return nil, fmt.Errorf("keep-last must not be negative, got %d", opts.KeepLast)
	}
	unlock, err := lockFile(filepath.Join(c.dir, cacheLock), true, false)
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("the cache %s is in use by a running lopper; try again when it has finished", c.dir)
	}
	if err != nil {
		return nil, err
	}
	defer unlock()
	g := &gc{c: c, opts: opts, rep: &GCReport{}}
	live, err := g.runs()
	if err != nil {
		return nil, err
	}
	objects, err := g.entries(live)
	if err != nil {
		return nil, err
	}
	if err := g.objects(objects); err != nil {
		return nil, err
	}
	return g.rep, nil
}

type gc struct {
	c    *Cache
	opts GCOptions
	rep  *GCReport
}

// runs keeps the last KeepLast run logs, removes the others and returns
// the entries the kept ones used.
func (g *gc) runs() (map[string]bool, error) {
	dir := filepath.Join(g.c.dir, cacheRuns)
	names, err := g.list(dir, isRunLogName)
	if err != nil {
		return nil, err
	}
	type run struct {
		path string
		log  *runLog
	}
	var runs []run
	for _, n := range names {
		p := filepath.Join(dir, n)
		l, err := readRunLog(p)
		if err != nil { // unreadable: it cannot keep anything
			if err := g.drop(p, &g.rep.RunsRemoved); err != nil {
				return nil, err
			}
			g.rep.Runs++
			continue
		}
		runs = append(runs, run{p, l})
	}
	slices.SortFunc(runs, func(a, b run) int {
		if c := b.log.Updated.Compare(a.log.Updated); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	g.rep.Runs += len(runs)
	live := map[string]bool{}
	for i, r := range runs {
		if i < g.opts.KeepLast {
			for _, k := range r.log.Entries {
				live[k] = true
			}
			continue
		}
		if err := g.drop(r.path, &g.rep.RunsRemoved); err != nil {
			return nil, err
		}
	}
	return live, nil
}

// entries removes the entries not in live (and damaged ones) and returns
// the object directories the others refer to.
func (g *gc) entries(live map[string]bool) (map[string]bool, error) {
	objects := map[string]bool{}
	root := filepath.Join(g.c.dir, cacheEntries)
	shards, err := g.list(root, isShardName)
	if err != nil {
		return nil, err
	}
	for _, s := range shards {
		names, err := g.list(filepath.Join(root, s), isEntryName)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			p := filepath.Join(root, s, n)
			g.rep.Entries++
			key := cacheKeyPrefix + strings.TrimSuffix(n, cacheEntryExt)
			if !live[key] {
				if err := g.drop(p, &g.rep.EntriesRemoved); err != nil {
					return nil, err
				}
				continue
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			e, err := decodeEntry(raw)
			if err != nil || e.Key != key {
				if err := g.drop(p, &g.rep.EntriesRemoved); err != nil {
					return nil, err
				}
				continue
			}
			for _, a := range e.Artifacts {
				objects[g.c.objectDir(a.Kind, a.Digest)] = true
			}
		}
	}
	return objects, nil
}

// objects removes the object directories not in live.
func (g *gc) objects(live map[string]bool) error {
	root := filepath.Join(g.c.dir, cacheObjects)
	shards, err := g.list(root, isShardName)
	if err != nil {
		return err
	}
	for _, s := range shards {
		names, err := g.list(filepath.Join(root, s), isObjectName)
		if err != nil {
			return err
		}
		for _, n := range names {
			p := filepath.Join(root, s, n)
			g.rep.Objects++
			if !live[p] {
				if err := g.drop(p, &g.rep.ObjectsRemoved); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// list returns the names in dir that are the cache's (valid says which),
// removing the temporary leftovers of interrupted writes as it goes and
// noting the rest as unknown.
func (g *gc) list(dir string, valid func(fs.DirEntry) bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			if fsx.IsTemp(n) || strings.Contains(n, ".tmp-") { // and the names of lopper before fsx
				if err := g.drop(filepath.Join(dir, n), &g.rep.TempRemoved); err != nil {
					return nil, err
				}
			}
			continue
		}
		if !valid(e) {
			g.rep.Unknown = append(g.rep.Unknown, filepath.Join(dir, n))
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// The names the cache gives its files: shard directories (two hex
// digits), entries (<key hex>.json), objects (a directory named by a
// SHA-256) and run logs (16 hex digits .json).
func isShardName(e fs.DirEntry) bool { return e.IsDir() && isHex(e.Name(), 2) }

func isEntryName(e fs.DirEntry) bool {
	h, ok := strings.CutSuffix(e.Name(), cacheEntryExt)
	return ok && e.Type().IsRegular() && isHex(h, 64)
}

func isObjectName(e fs.DirEntry) bool { return e.IsDir() && isHex(e.Name(), 64) }

func isRunLogName(e fs.DirEntry) bool {
	h, ok := strings.CutSuffix(e.Name(), ".json")
	return ok && e.Type().IsRegular() && isHex(h, 16)
}

// isHex reports whether s is n lower-case hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// drop removes path (unless dry-running), counting it and its bytes.
func (g *gc) drop(path string, count *int) error {
	*count++
	g.rep.BytesRemoved += treeSize(path)
	if g.opts.DryRun {
		return nil
	}
	return g.c.remove(path)
}

// treeSize is the total size of the regular files at or below path.
func treeSize(path string) int64 {
	var n int64
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a size is a report, not a reason to stop
		}
		if fi, ierr := d.Info(); ierr == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
