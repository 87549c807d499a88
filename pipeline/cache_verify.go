package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// VerifyReport is what Cache.Verify found.
type VerifyReport struct {
	Entries, Objects, Runs int
	// Problems name each damaged file or directory and what is wrong.
	Problems []string
}

// Verify reads back everything visible in the cache: every entry (its
// seal, its key, the artifacts it refers to), every artifact (decoded and
// checked against its digest) and every run log. Temporary files of
// writes in progress or interrupted (dot names) are not looked at. A run
// never uses a damaged entry whatever Verify says; this is for checking a
// cache (and for the crash test).
func (c *Cache) Verify(ctx context.Context, reg *Registry) (*VerifyReport, error) {
	rep := &VerifyReport{}
	bad := func(path, format string, args ...any) {
		rep.Problems = append(rep.Problems, path+": "+fmt.Sprintf(format, args...))
	}
	objects := map[string]bool{}
	for _, p := range visible(filepath.Join(c.dir, cacheEntries, "*", "*")) {
		rep.Entries++
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		e, err := decodeEntry(raw)
		if err != nil {
			bad(p, "%v", err)
			continue
		}
		if want, err := c.entryPath(e.Key); err != nil || want != p {
			bad(p, "holds the entry of key %s", e.Key)
		}
		for name, a := range e.Artifacts {
			dir := c.objectDir(a.Kind, a.Digest)
			objects[dir] = true
			if _, err := os.Stat(dir); err != nil {
				bad(p, "artifact %s: %v", name, err)
			}
		}
	}
	for _, dir := range visible(filepath.Join(c.dir, cacheObjects, "*", "*")) {
		rep.Objects++
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := ReadArtifact(ctx, reg, dir); err != nil {
			bad(dir, "%v", err)
		}
	}
	for _, p := range visible(filepath.Join(c.dir, cacheRuns, "*")) {
		rep.Runs++
		if _, err := readRunLog(p); err != nil {
			bad(p, "%v", err)
		}
	}
	return rep, nil
}

// visible returns the paths matching pattern whose names are not dot
// names (temporary files).
func visible(pattern string) []string {
	all, _ := filepath.Glob(pattern) // the patterns are fixed and well-formed
	var out []string
	for _, p := range all {
		if !strings.HasPrefix(filepath.Base(p), ".") {
			out = append(out, p)
		}
	}
	return out
}
