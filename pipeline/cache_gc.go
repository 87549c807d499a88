package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"lopper/internal/fsx"
	"lopper/pipeline/store"
)

// GCOptions configure Cache.GC.
type GCOptions struct {
	// KeepLast keeps what the KeepLast runs updated last used (the cache
	// keeps a log per run; a resumed run keeps its log); everything else
	// is removed. 0 empties the cache.
	KeepLast int
	// DryRun reports what would be removed without removing it.
	DryRun bool
	// Grace keeps, besides, every run log, entry, artifact and temporary
	// leftover written less than Grace ago, and what such a run log or
	// entry refers to: a cache in a bucket has no lock, so gc cannot tell
	// what a run on another machine is using or writing right now but by
	// its age. 0 keeps nothing for its age (a local cache is locked).
	Grace time.Duration
}

// GCReport says what GC removed (or, in a dry run, would remove).
type GCReport struct {
	Runs, RunsRemoved       int
	Entries, EntriesRemoved int
	Objects, ObjectsRemoved int
	// Inputs are input objects (inputs/), Transfers runs' transfer
	// directories (work/, payloads/).
	Inputs, InputsRemoved       int
	Transfers, TransfersRemoved int
	TempRemoved                 int // leftovers of interrupted writes
	BytesRemoved                int64
	// Young counts what Grace kept.
	Young int
	// Unknown lists what is in the cache's directories but not named as
	// the cache names its files (a file someone put there): gc leaves it
	// alone.
	Unknown []string
}

// GC removes the entries that none of the last opts.KeepLast runs used,
// the artifacts no remaining entry refers to, damaged entries, the input
// objects and runs' transfer directories (stage work files, large
// payloads) that no kept run keeps, and the temporary files of interrupted
// writes. It needs the cache to itself: it
// fails rather than wait while a run is using the cache (a local one: a
// bucket cannot be locked, see GCOptions.Grace).
func (c *Cache) GC(opts GCOptions) (*GCReport, error) {
	if opts.KeepLast < 0 {
		return nil, fmt.Errorf("keep-last must not be negative, got %d", opts.KeepLast)
	}
	if opts.Grace < 0 {
		return nil, fmt.Errorf("grace must not be negative, got %v", opts.Grace)
	}
	unlock, err := c.s.Lock(true, false)
	if errors.Is(err, fsx.ErrLocked) {
		return nil, fmt.Errorf("the cache %s is in use by a running lopper; try again when it has finished", c.Location())
	}
	if err != nil {
		return nil, err
	}
	defer unlock()
	g := &gc{ctx: context.Background(), c: c, opts: opts, rep: &GCReport{}, now: time.Now()}
	live, keeps, err := g.runs()
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
	if err := g.transfers(keeps); err != nil {
		return nil, err
	}
	return g.rep, nil
}

type gc struct {
	ctx  context.Context
	c    *Cache
	opts GCOptions
	rep  *GCReport
	now  time.Time
}

// runs keeps the last KeepLast run logs (and young ones), removes the
// others and returns the entries the kept ones used, and the other names
// they keep (runLog.Keeps).
func (g *gc) runs() (live, keeps map[string]bool, err error) {
	names, err := g.list(cacheRuns, isRunLogName)
	if err != nil {
		return nil, nil, err
	}
	type run struct {
		name string
		log  *runLog
	}
	var runs []run
	for _, n := range names {
		p := cacheRuns + "/" + n
		l, err := g.c.readRunLog(g.ctx, p)
		if err != nil { // unreadable: it cannot keep anything
			g.rep.Runs++
			if _, err := g.drop(p, &g.rep.RunsRemoved); err != nil {
				return nil, nil, err
			}
			continue
		}
		runs = append(runs, run{p, l})
	}
	slices.SortFunc(runs, func(a, b run) int {
		if c := b.log.Updated.Compare(a.log.Updated); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	g.rep.Runs += len(runs)
	live, keeps = map[string]bool{}, map[string]bool{}
	for i, r := range runs {
		kept := i < g.opts.KeepLast
		if !kept {
			dropped, err := g.drop(r.name, &g.rep.RunsRemoved)
			if err != nil {
				return nil, nil, err
			}
			kept = !dropped
		}
		if kept {
			for _, k := range r.log.Entries {
				live[k] = true
			}
			for _, k := range r.log.Keeps {
				keeps[k] = true
			}
		}
	}
	return live, keeps, nil
}

// entries removes the entries not in live (and damaged ones) and returns
// the objects the others refer to.
func (g *gc) entries(live map[string]bool) (map[string]bool, error) {
	objects := map[string]bool{}
	shards, err := g.list(cacheEntries, isShardName)
	if err != nil {
		return nil, err
	}
	for _, s := range shards {
		names, err := g.list(cacheEntries+"/"+s, isEntryName)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			p := cacheEntries + "/" + s + "/" + n
			g.rep.Entries++
			key := cacheKeyPrefix + strings.TrimSuffix(n, cacheEntryExt)
			if !live[key] {
				dropped, err := g.drop(p, &g.rep.EntriesRemoved)
				if err != nil {
					return nil, err
				}
				if dropped {
					continue
				}
			}
			raw, err := g.c.s.Get(g.ctx, p)
			if err != nil {
				return nil, err
			}
			e, err := decodeEntry(raw)
			if err != nil || e.Key != key {
				if _, err := g.drop(p, &g.rep.EntriesRemoved); err != nil {
					return nil, err
				}
				continue
			}
			for _, a := range e.Artifacts {
				objects[objectName(a.Kind, a.Digest)] = true
			}
		}
	}
	return objects, nil
}

// objects removes the objects not in live.
func (g *gc) objects(live map[string]bool) error {
	return g.sweep(cacheObjects, live, &g.rep.Objects, &g.rep.ObjectsRemoved)
}

// sweep removes the objects of dir (dir/ab/HEX) not in live, counting
// them in total and removed.
func (g *gc) sweep(dir string, live map[string]bool, total, removed *int) error {
	shards, err := g.list(dir, isShardName)
	if err != nil {
		return err
	}
	for _, s := range shards {
		names, err := g.list(dir+"/"+s, isObjectName)
		if err != nil {
			return err
		}
		for _, n := range names {
			p := dir + "/" + s + "/" + n
			*total++
			if !live[p] {
				if _, err := g.drop(p, removed); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// transfers removes the input objects (inputs/ab/HEX) and the runs'
// transfer directories (work/HEX, payloads/HEX) that no kept run log
// keeps; what is younger than the grace period stays (see GCOptions.Grace).
func (g *gc) transfers(keeps map[string]bool) error {
	if err := g.sweep(cacheInputs, keeps, &g.rep.Inputs, &g.rep.InputsRemoved); err != nil {
		return err
	}
	for _, dir := range []string{cacheWork, cachePayloads} {
		runs, err := g.list(dir, isTransferName)
		if err != nil {
			return err
		}
		for _, n := range runs {
			p := dir + "/" + n
			g.rep.Transfers++
			if !keeps[p] {
				if _, err := g.drop(p, &g.rep.TransfersRemoved); err != nil {
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
func (g *gc) list(dir string, valid func(store.Item) bool) ([]string, error) {
	items, err := g.c.s.List(g.ctx, dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		switch {
		case it.Temp:
			if _, err := g.drop(dir+"/"+it.Name, &g.rep.TempRemoved); err != nil {
				return nil, err
			}
		case strings.HasPrefix(it.Name, "."):
		case !valid(it):
			g.rep.Unknown = append(g.rep.Unknown, g.c.s.Location(dir+"/"+it.Name))
		default:
			out = append(out, it.Name)
		}
	}
	return out, nil
}

// The names the cache gives its files: shard directories (two hex
// digits), entries (<key hex>.json), objects (a directory named by a
// SHA-256) and run logs (16 hex digits .json).
func isShardName(it store.Item) bool { return it.Dir && isHex(it.Name, 2) }

func isEntryName(it store.Item) bool {
	h, ok := strings.CutSuffix(it.Name, cacheEntryExt)
	return ok && !it.Dir && isHex(h, 64)
}

func isObjectName(it store.Item) bool { return it.Dir && isHex(it.Name, 64) }

// isTransferName is a run's transfer directory (transferDir).
func isTransferName(it store.Item) bool { return it.Dir && isHex(it.Name, 32) }

func isRunLogName(it store.Item) bool {
	h, ok := strings.CutSuffix(it.Name, ".json")
	return ok && !it.Dir && isHex(h, 16)
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

// drop removes name (unless dry-running), counting it and its bytes, and
// reports whether it did: what is younger than the grace period stays.
func (g *gc) drop(name string, count *int) (bool, error) {
	size, mod, err := g.c.s.Stat(g.ctx, name)
	if err != nil {
		size = 0 // a size is a report, not a reason to stop
	}
	if g.opts.Grace > 0 && err == nil && g.now.Sub(mod) < g.opts.Grace {
		g.rep.Young++
		return false, nil
	}
	*count++
	g.rep.BytesRemoved += size
	if g.opts.DryRun {
		return true, nil
	}
	return true, g.c.remove(g.ctx, name)
}
