package tokenizer

import (
	"bufio"
	"container/list"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// ForModel parses a model directory's tokenizer.json: data is its content,
// nil when the directory has none. Errors name dir ("the model" when dir
// is empty).
func ForModel(data []byte, dir string) (*Tokenizer, error) {
	if len(data) == 0 {
		if dir == "" {
			return nil, fmt.Errorf("the model has no tokenizer.json")
		}
		return nil, fmt.Errorf("%s has no tokenizer.json", dir)
	}
	t, err := build(data)
	if err != nil {
		if dir == "" {
			return nil, fmt.Errorf("the model's tokenizer.json: %w", err)
		}
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "tokenizer.json"), err)
	}
	return t, nil
}

// EncodeModelFile tokenizes the text file at path with the tokenizer.json
// of the model in dir (ForModel: data is its content, nil when there is
// none), as EncodeFile does: the one way lopper tokenizes a file with a
// model's tokenizer (evaluation texts, calibration and training data).
func EncodeModelFile(data []byte, dir, path string, limit int) ([]int32, error) {
	tok, err := ForModel(data, dir)
	if err != nil {
		return nil, fmt.Errorf("cannot tokenize %s: %w", path, err)
	}
	return tok.EncodeFile(path, limit)
}

// EncodeFile tokenizes the UTF-8 text file at path as Encode tokenizes its
// whole content (no special tokens added). With limit > 0 it returns only
// the first limit tokens (all of them when there are fewer) and reads the
// file only as far as they need (see EncodeReader). Errors name the file;
// a file with no text is an error.
func (t *Tokenizer) EncodeFile(path string, limit int) (_ []int32, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	ids, err := t.EncodeReader(bufio.NewReaderSize(f, 1<<20), limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s: the file is empty: no text to tokenize", path)
	}
	return ids, nil
}

// FileCache keeps the tokenizations of text files, so that the stages of a
// loop do not tokenize the same training or calibration text in every
// iteration. It holds at most its byte budget of tokens, dropping the
// least recently used first; a tokenization larger than the budget is
// returned but not kept. A file is identified by path, size and
// modification time, so an edited file is tokenized again. Safe for
// concurrent use.
type FileCache struct {
	mu       sync.Mutex
	budget   int64
	used     int64
	entries  map[fileKey]*list.Element // of *fileEntry
	recent   list.List                 // front: most recently used
	inflight map[fileKey]*sync.WaitGroup
}

type fileKey struct {
	tokenizer [sha256.Size]byte // of tokenizer.json
	path      string
	size      int64
	modTime   int64
	limit     int
}

type fileEntry struct {
	key fileKey
	ids []int32
}

// NewFileCache returns a cache that keeps at most budget bytes of tokens.
func NewFileCache(budget int64) *FileCache {
	return &FileCache{budget: budget, entries: map[fileKey]*list.Element{}, inflight: map[fileKey]*sync.WaitGroup{}}
}

// EncodeFile is EncodeModelFile through the cache. The result is shared: do not modify it.
func (c *FileCache) EncodeFile(tokenizerJSON []byte, dir, path string, limit int) ([]int32, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	key := fileKey{tokenizer: sha256.Sum256(tokenizerJSON), path: path, size: fi.Size(), modTime: fi.ModTime().UnixNano(), limit: max(limit, 0)}
	for {
		c.mu.Lock()
		if e, ok := c.entries[key]; ok {
			c.recent.MoveToFront(e)
			c.mu.Unlock()
			return e.Value.(*fileEntry).ids, nil
		}
		wait, busy := c.inflight[key]
		if !busy {
			wait = &sync.WaitGroup{}
			wait.Add(1)
			c.inflight[key] = wait
			c.mu.Unlock()
			break
		}
		c.mu.Unlock()
		wait.Wait() // another caller is tokenizing this file; use its result
	}
	ids, err := EncodeModelFile(tokenizerJSON, dir, path, limit)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight[key].Done()
	delete(c.inflight, key)
	if err != nil {
		return nil, err
	}
	c.add(key, ids)
	return ids, nil
}

// add keeps ids under key, dropping the least recently used entries over
// the budget. c.mu is held.
func (c *FileCache) add(key fileKey, ids []int32) {
	size := 4 * int64(len(ids))
	if size > c.budget {
		return
	}
	for c.used+size > c.budget {
		old := c.recent.Back()
		e := old.Value.(*fileEntry)
		c.recent.Remove(old)
		delete(c.entries, e.key)
		c.used -= 4 * int64(len(e.ids))
	}
	c.entries[key] = c.recent.PushFront(&fileEntry{key, ids})
	c.used += size
}

// Bytes is the size of the tokens the cache holds.
func (c *FileCache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
