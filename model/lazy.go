package model

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"lopper/internal/par"
)

// Open is LoadContext without reading the weights: it makes the same
// checks (config, layout, tensor names, shapes and dtypes, a tied head,
// tokenizer.json and lopper.json) with the same errors, but keeps the
// weight files open and mapped inside the model and leaves W unread. W is
// then a fresh anonymous mapping on Linux, whose untouched pages take no
// memory; tensors become resident while pinned (Pin) and leave memory when
// their last pin goes (Unpin). Elsewhere W is a plain allocation: pinning
// still decodes on demand, but nothing leaves memory.
//
// With opts.CheckFinite every tensor is scanned once, piece by piece
// through a small buffer, and the first NaN or ±Inf is reported as Load
// reports it; with opts.FiniteOnPin too, Open scans nothing and each
// tensor is checked instead as Pin first decodes it (the Pin returns the
// *NonFiniteError). The forward passes of a lazy model pin what they read
// (State.ForwardBatch, Embed, BlockForward, Head), so evaluating it holds
// about one block per concurrent pass and the embedding and head; training
// (NewState, Backward) and encoder classifiers need a resident model
// (Load). Close the model when done with it.
func Open(ctx context.Context, dir string, opts LoadOptions) (_ *Model, err error) {
	ck, err := openCheckpoint(ctx, dir)
	if err != nil {
		return nil, err
	}
	w, raw, err := allocWeights(ck.layout.Total)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %d weights: %w", dir, ck.layout.Total, err), ck.close())
	}
	m := ck.model(w)
	m.lazy = &residency{src: ck.src, files: ck.files, raw: raw, state: make([]tensorState, len(ck.layout.Tensors)),
		checkOnPin: opts.CheckFinite && opts.FiniteOnPin}
	defer func() {
		if err != nil {
			err = errors.Join(err, m.Close())
			m = nil
		}
	}()
	if opts.CheckFinite && !opts.FiniteOnPin {
		for _, t := range m.Layout.Tensors {
			if err := ck.src.checkFinite(ctx, t); err != nil {
				return nil, err
			}
		}
	}
	if err := ck.finish(ctx, m); err != nil {
		return nil, err
	}
	m.lazy.finite.Store(opts.CheckFinite && !opts.FiniteOnPin)
	return m, nil
}

// residency is what a lazy model (Open) keeps: its weight files, the
// mapping behind W and, per layout tensor, its pins and whether W holds it.
type residency struct {
	src   *tensorSource
	files []*stFile
	raw   []byte // W's anonymous mapping (nil where W is a plain allocation)

	finite atomic.Bool // every weight was found finite (Open, CheckFinite)
	// checkOnPin checks each tensor as Pin first decodes it (FiniteOnPin).
	checkOnPin bool

	mu     sync.Mutex // guards state and closed
	state  []tensorState
	closed bool
}

// tensorState is one tensor's residency.
type tensorState struct {
	pins     int
	resident bool
	checked  bool          // found finite by a decode (checkOnPin)
	loading  chan struct{} // closed when the decode in progress ends
}

// Lazy reports whether m was opened lazily (Open): its weights are only
// valid in W while pinned.
func (m *Model) Lazy() bool { return m.lazy != nil }

// Pin makes tensors ts of a lazy model resident in W, decoding them from
// the checkpoint the first time and after they were evicted, and counts a
// pin on each: they stay valid until as many Unpin calls. Pins are counted
// per tensor, so several goroutines may pin the same tensor (it is decoded
// once) and different tensors concurrently (decoding one does not hold up
// the others; the tensors of one call are decoded in parallel). On error
// (ctx done, a read failing) nothing stays pinned.
// For a resident model (Load, New, Clone) Pin does nothing, so callers may
// pin unconditionally.
//
// W of a lazy model is a cache of the checkpoint: a tensor that is evicted
// reads back as the checkpoint holds it. Whoever writes into W of a lazy
// model must hold a pin on the tensors written and copy the result
// elsewhere (a saved file, a resident model) before unpinning them.
func (m *Model) Pin(ctx context.Context, ts ...TensorInfo) error {
	r := m.lazy
	if r == nil {
		return nil
	}
	// The tensors are decoded in parallel (a block's, say).
	errs := make([]error, len(ts))
	par.For(len(ts), func(k int) { errs[k] = r.pin(ctx, m, ts[k]) })
	var pinned []TensorInfo
	var first error
	for k, err := range errs {
		if err == nil {
			pinned = append(pinned, ts[k])
		} else if first == nil {
			first = err
		}
	}
	if first != nil {
		m.Unpin(pinned...)
	}
	return first
}

// Unpin drops one pin of each of ts (pinned by Pin); a tensor whose last
// pin goes leaves memory: its pages of W are given back to the system
// (Linux), and it is decoded again when pinned next. Unpinning a tensor
// that is not pinned panics, as unlocking an unlocked mutex does. For a
// resident model Unpin does nothing.
func (m *Model) Unpin(ts ...TensorInfo) {
	r := m.lazy
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range ts {
		i := m.tensorIndex(t)
		if i < 0 || r.state[i].pins <= 0 {
			panic(fmt.Sprintf("model: Unpin of tensor %q, which is not pinned", t.Name))
		}
		st := &r.state[i]
		if st.pins--; st.pins == 0 && st.resident {
			st.resident = false
			t := m.Layout.Tensors[i]
			// The interior pages of the tensor only: its first and last pages
			// may hold its neighbours' weights.
			if err := releaseWeights(r.raw, 4*t.Offset, 4*(t.Offset+t.Size)); err != nil {
				panic(fmt.Sprintf("model: tensor %q: %v", t.Name, err)) // madvise of our own mapping
			}
		}
	}
}

// Close releases a lazy model: it unmaps W (which is nil afterwards) and
// closes the weight files. The model must not be in use. Closing twice, or
// a resident model, does nothing.
func (m *Model) Close() error {
	r := m.lazy
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	m.W = nil
	return errors.Join(freeWeights(r.raw), closeAll(r.files))
}

// tensorIndex is t's index in m's layout, or -1.
func (m *Model) tensorIndex(t TensorInfo) int {
	i, ok := m.Layout.index[t.Name]
	if !ok {
		return -1
	}
	return i
}

// pin counts a pin on t and decodes it unless it is resident.
func (r *residency) pin(ctx context.Context, m *Model, t TensorInfo) error {
	i := m.tensorIndex(t)
	if i < 0 {
		return fmt.Errorf("pin: tensor %q is not in the model", t.Name)
	}
	t = m.Layout.Tensors[i]
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("pin: tensor %q: the model is closed", t.Name)
	}
	st := &r.state[i]
	st.pins++
	for !st.resident {
		if ch := st.loading; ch != nil { // another goroutine decodes it
			r.mu.Unlock()
			var err error
			select {
			case <-ch:
			case <-ctx.Done():
				err = ctx.Err()
			}
			r.mu.Lock()
			if err != nil {
				st.pins-- // the decoder holds a pin: it stays above zero
				return err
			}
			continue // resident, or the decode failed: try again
		}
		ch := make(chan struct{})
		st.loading = ch
		check := r.checkOnPin && !st.checked
		r.mu.Unlock()
		err := r.src.read(ctx, t, t.Of(m.W), check)
		r.mu.Lock()
		st.loading = nil
		close(ch)
		if err != nil {
			st.pins--
			return err
		}
		st.resident, st.checked = true, true
	}
	return nil
}

// cloneWeights returns a resident copy of a lazy model's weights: pinned
// tensors are copied as they are in W, the others decoded from the
// checkpoint.
func (r *residency) cloneWeights(m *Model) ([]float32, error) {
	w := make([]float32, m.Layout.Total)
	for i, t := range m.Layout.Tensors {
		if r.copyResident(m, i, w) {
			continue
		}
		if err := r.src.read(context.Background(), t, t.Of(w), false); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// copyResident copies tensor i into w if it is resident, and says so.
func (r *residency) copyResident(m *Model, i int, w []float32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		panic("model: Clone of a closed lazy model")
	}
	if !r.state[i].resident {
		return false
	}
	t := m.Layout.Tensors[i]
	copy(t.Of(w), t.Of(m.W))
	return true
}
