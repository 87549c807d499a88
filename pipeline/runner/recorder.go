package runner

import (
	"encoding/json"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/internal/fsx"
	"lopper/pipeline"
)

// recordInterval bounds how often run.json is rewritten during a run: a
// sweep of thousands of tiny stages must not spend its time rewriting a
// growing file. The record on disk is at most this stale; the final write
// always happens.
const recordInterval = 500 * time.Millisecond

// recorder owns the run record: every change goes through update, under
// one lock, and is written to run.json atomically.
type recorder struct {
	mu        sync.Mutex
	rec       *pipeline.RunRecord
	path      string
	closed    bool  // after the run is final, late updates are dropped
	err       error // first write error
	log       hclog.Logger
	lastWrite time.Time
	pending   *time.Timer // a scheduled write, nil if none
}

// newRecorder returns the recorder of rec; a record without a run
// directory (Status) is kept in memory only.
func newRecorder(rec *pipeline.RunRecord, log hclog.Logger) *recorder {
	r := &recorder{rec: rec, log: log}
	if rec.RunDir != "" {
		r.path = filepath.Join(rec.RunDir, pipeline.RecordFile)
	}
	return r
}

// update applies fn to the record and writes it now, or soon when it was
// written less than recordInterval ago.
func (r *recorder) update(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	fn()
	wait := recordInterval - time.Since(r.lastWrite)
	switch {
	case wait <= 0:
		r.writeLocked()
	case r.pending == nil:
		r.pending = time.AfterFunc(wait, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.pending = nil
			if !r.closed {
				r.writeLocked()
			}
		})
	}
}

func (r *recorder) writeLocked() {
	r.lastWrite = time.Now()
	if r.path == "" {
		return
	}
	data, err := json.MarshalIndent(r.rec, "", "  ")
	if err == nil {
		err = fsx.WriteFileAtomic(r.path, append(data, '\n'), 0o644)
	}
	if err != nil && r.err == nil {
		r.err = err
		r.log.Error("cannot write the run record", "path", r.path, "error", err)
	}
}

// finish applies fn, writes the record a last time and stops updates.
func (r *recorder) finish(fn func()) (*pipeline.RunRecord, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn()
	if r.pending != nil {
		r.pending.Stop()
		r.pending = nil
	}
	r.writeLocked()
	r.closed = true
	return r.rec.Clone(), r.err
}

func (r *recorder) snapshot() *pipeline.RunRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec.Clone()
}
