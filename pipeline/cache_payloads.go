package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Payloads in a store: a distributed executor keeps the messages it would
// hand its engine (Temporal caps one at 2 MB) in the run's store when they
// are large, and hands over their digest instead. A payload object holds
// one file, `payload`, whose SHA-256 is its name, below the directory of
// the run it belongs to (transferDir), which `lopper cache gc` keeps with
// the run.

// cachePayloads is the store's directory of payload objects.
const cachePayloads = "payloads"

// payloadFile is the file a payload object holds.
const payloadFile = "payload"

// payloadName is the store's name of the payload of the run run whose
// digest is digest ("sha256:…").
func payloadName(run, digest string) (string, error) {
	h, ok := strings.CutPrefix(digest, "sha256:")
	if _, err := hex.DecodeString(h); !ok || err != nil || len(h) != 64 || strings.ToLower(h) != h {
		return "", fmt.Errorf("malformed digest %q", digest)
	}
	return transferDir(cachePayloads, run) + "/" + h, nil
}

// transferDir is dir/HEX, where what belongs to the run run (any name that
// tells runs apart) is kept: HEX hashes run.
func transferDir(dir, run string) string {
	sum := sha256.Sum256([]byte(run))
	return dir + "/" + hex.EncodeToString(sum[:16])
}

// digestName is dir/ab/HEX for a "sha256:HEX" digest, refusing anything
// else (a digest names a file).
func digestName(dir, digest string) (string, error) {
	h, ok := strings.CutPrefix(digest, "sha256:")
	if _, err := hex.DecodeString(h); !ok || err != nil || len(h) != 64 || strings.ToLower(h) != h {
		return "", fmt.Errorf("malformed digest %q", digest)
	}
	return dir + "/" + h[:2] + "/" + h, nil
}

// PutPayload stores data as a payload object of the run run, unless the
// store has it, and returns its digest.
func (c *Cache) PutPayload(ctx context.Context, run string, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	name, err := payloadName(run, digest)
	if err != nil {
		return "", err
	}
	if ok, err := c.s.HasObject(ctx, name); ok || err != nil {
		return digest, err
	}
	return digest, c.s.PutObject(ctx, name, func(dir string) error {
		return os.WriteFile(filepath.Join(dir, payloadFile), data, 0o644)
	})
}

// GetPayload returns the payload of the run run of digest, checked
// against it.
func (c *Cache) GetPayload(ctx context.Context, run, digest string) ([]byte, error) {
	name, err := payloadName(run, digest)
	if err != nil {
		return nil, err
	}
	o, err := c.s.OpenObject(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the payload %s is not in the store %s", digest, c.Location())
	}
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(o.Dir, payloadFile))
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		return nil, fmt.Errorf("%s holds digest %s, want %s", c.s.Location(name), got, digest)
	}
	return data, nil
}
