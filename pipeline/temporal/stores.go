package temporal

import (
	"context"
	"sync"

	"lopper/pipeline"
)

// stores are the run stores a process reaches by URL: each opened once
// (open), or bound as the caller already has it (bind); close closes the
// ones opened here.
type stores struct {
	mu     sync.Mutex
	byURL  map[string]*pipeline.Cache
	opened []*pipeline.Cache
}

// bind makes c the store at url unless one is known there already.
func (s *stores) bind(url string, c *pipeline.Cache) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byURL[url]; ok {
		return
	}
	if s.byURL == nil {
		s.byURL = map[string]*pipeline.Cache{}
	}
	s.byURL[url] = c
}

// open returns the store at url, opened on first use; noURL when url is
// "" and no store is bound there.
func (s *stores) open(ctx context.Context, url string, noURL error) (*pipeline.Cache, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.byURL[url]; ok {
		return c, nil
	}
	if url == "" {
		return nil, noURL
	}
	c, err := pipeline.OpenCacheURL(ctx, url)
	if err != nil {
		return nil, err
	}
	if s.byURL == nil {
		s.byURL = map[string]*pipeline.Cache{}
	}
	s.byURL[url] = c
	s.opened = append(s.opened, c)
	return c, nil
}

// close closes the stores opened here and forgets every store.
func (s *stores) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, c := range s.opened {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.byURL, s.opened = nil, nil
	return first
}
