package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// VerifyReport is what Cache.Verify found.
type VerifyReport struct {
	Entries, Objects, Runs int
	// Inputs and Payloads count the input and payload objects checked.
	Inputs, Payloads int
	// Problems name each damaged file or directory and what is wrong.
	Problems []string
}

// Verify reads back everything visible in the cache: every entry (its
// seal, its key, the artifacts it refers to), every artifact (decoded and
// checked against its digest), every input object and payload (checked
// against its digest) and every run log. A stage's work files (work/)
// have no digest to check. Temporary files of
// writes in progress or interrupted (dot names, a bucket's objects without
// a seal) are not looked at. A run
// never uses a damaged entry whatever Verify says; this is for checking a
// cache (and for the crash test).
func (c *Cache) Verify(ctx context.Context, reg *Registry) (*VerifyReport, error) {
	rep := &VerifyReport{}
	bad := func(name, format string, args ...any) {
		rep.Problems = append(rep.Problems, c.s.Location(name)+": "+fmt.Sprintf(format, args...))
	}
	entries, err := c.visible(ctx, cacheEntries)
	if err != nil {
		return nil, err
	}
	for _, p := range entries {
		rep.Entries++
		raw, err := c.s.Get(ctx, p)
		if err != nil {
			return nil, err
		}
		e, err := decodeEntry(raw)
		if err != nil {
			bad(p, "%v", err)
			continue
		}
		if want, err := entryName(e.Key); err != nil || want != p {
			bad(p, "holds the entry of key %s", e.Key)
		}
		for name, a := range e.Artifacts {
			ok, err := c.s.HasObject(ctx, objectName(a.Kind, a.Digest))
			switch {
			case err != nil:
				return nil, err
			case !ok:
				bad(p, "artifact %s: %s is missing", name, c.s.Location(objectName(a.Kind, a.Digest)))
			}
		}
	}
	objects, err := c.visible(ctx, cacheObjects)
	if err != nil {
		return nil, err
	}
	for _, name := range objects {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ok, err := c.s.HasObject(ctx, name)
		if err != nil {
			return nil, err
		}
		if !ok { // a bucket's object being written (or a killed writer's): not there yet
			continue
		}
		rep.Objects++
		if err := c.verifyObject(ctx, reg, name); err != nil {
			bad(name, "%v", err)
		}
	}
	if err := c.verifyTransfers(ctx, rep, bad); err != nil {
		return nil, err
	}
	runs, err := c.s.List(ctx, cacheRuns)
	if err != nil {
		return nil, err
	}
	for _, it := range runs {
		if strings.HasPrefix(it.Name, ".") || it.Temp {
			continue
		}
		rep.Runs++
		if _, err := c.readRunLog(ctx, cacheRuns+"/"+it.Name); err != nil {
			bad(cacheRuns+"/"+it.Name, "%v", err)
		}
	}
	return rep, nil
}

// verifyTransfers checks every input object (inputs/ab/HEX: its file or
// tree has the digest HEX) and every payload (payloads/RUN/HEX: its bytes
// have the digest HEX).
func (c *Cache) verifyTransfers(ctx context.Context, rep *VerifyReport, bad func(name, format string, args ...any)) error {
	inputs, err := c.visible(ctx, cacheInputs)
	if err != nil {
		return err
	}
	for _, name := range inputs {
		if ok, err := c.s.HasObject(ctx, name); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		rep.Inputs++
		digest := "sha256:" + path.Base(name)
		tmp, err := os.MkdirTemp("", "lopper-verify-")
		if err != nil {
			return err
		}
		err = c.FetchInput(ctx, digest, filepath.Join(tmp, "input")) // checks the digest
		if rerr := os.RemoveAll(tmp); err == nil && rerr != nil {
			return rerr
		}
		if err != nil {
			bad(name, "%v", err)
		}
	}
	payloads, err := c.visible(ctx, cachePayloads)
	if err != nil {
		return err
	}
	for _, name := range payloads {
		if ok, err := c.s.HasObject(ctx, name); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		rep.Payloads++
		o, err := c.s.OpenObject(ctx, name)
		if err != nil {
			bad(name, "%v", err)
			continue
		}
		data, err := os.ReadFile(filepath.Join(o.Dir, payloadFile))
		if cerr := o.Close(); err == nil {
			err = cerr
		}
		sum := sha256.Sum256(data)
		switch {
		case err != nil:
			bad(name, "%v", err)
		case hex.EncodeToString(sum[:]) != path.Base(name):
			bad(name, "holds digest sha256:%x, want sha256:%s", sum, path.Base(name))
		}
	}
	return nil
}

// verifyObject reads the object name back and checks that it decodes to
// the digest it was stored with.
func (c *Cache) verifyObject(ctx context.Context, reg *Registry, name string) error {
	o, err := c.s.OpenObject(ctx, name)
	if err != nil {
		return err
	}
	a, err := ReadArtifact(ctx, reg, o.Dir)
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err == nil && objectName(a.Kind(), a.Digest()) != name {
		err = fmt.Errorf("holds the %s artifact %s, which belongs elsewhere", a.Kind(), a.Digest())
	}
	return err
}

// visible returns the names two levels below dir (dir/shard/name) whose
// shard and name are not dot names (temporary files) nor leftovers.
func (c *Cache) visible(ctx context.Context, dir string) ([]string, error) {
	shards, err := c.s.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range shards {
		if !s.Dir || s.Temp || strings.HasPrefix(s.Name, ".") {
			continue
		}
		items, err := c.s.List(ctx, dir+"/"+s.Name)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if !it.Temp && !strings.HasPrefix(it.Name, ".") {
				out = append(out, dir+"/"+s.Name+"/"+it.Name)
			}
		}
	}
	return out, nil
}
