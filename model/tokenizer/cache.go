package tokenizer

import (
	"strings"
	"sync"
)

const (
	// wordCacheCapacity bounds the number of cached words; once full, the cache
	// keeps what it has (frequent words arrive early in any real text).
	wordCacheCapacity = 1 << 16
	// maxCachedWordLen is the longest word (in bytes) worth caching, as in
	// Hugging Face.
	maxCachedWordLen = 256
)

// wordCache maps words to their ids. It is safe for concurrent use.
type wordCache struct {
	mu  sync.RWMutex
	m   map[string][]int32
	cap int
}

func newWordCache(capacity int) *wordCache {
	return &wordCache{m: make(map[string][]int32), cap: capacity}
}

func (c *wordCache) get(word string) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.m[word]
	c.mu.RUnlock()
	return ids, ok
}

// put stores a copy of ids (the caller keeps its slice) if there is room.
func (c *wordCache) put(word string, ids []int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.cap {
		return
	}
	if _, ok := c.m[word]; !ok {
		// Clone: word is a slice of the caller's text, which must not be kept alive.
		c.m[strings.Clone(word)] = append([]int32(nil), ids...)
	}
}
