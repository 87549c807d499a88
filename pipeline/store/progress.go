package store

import (
	"context"
	"io"
)

type progressKey struct{}

// WithProgress returns a context under which a bucket's uploads
// (PutObject) report to fn the bytes they send, as they send them.
func WithProgress(ctx context.Context, fn func(n int64)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// progressReader reports what is read through it.
type progressReader struct {
	r  io.Reader
	fn func(n int64)
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.fn(int64(n))
	}
	return n, err
}

// withProgress is r reporting to ctx's WithProgress function, if any.
func withProgress(ctx context.Context, r io.Reader) io.Reader {
	if fn, ok := ctx.Value(progressKey{}).(func(int64)); ok && fn != nil {
		return progressReader{r, fn}
	}
	return r
}
