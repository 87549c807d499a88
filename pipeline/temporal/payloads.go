package temporal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"lopper/pipeline"
)

// Payloads keeps the messages that go through Temporal bounded whatever
// the run's size: a payload (a workflow's input or result, a child's, the
// state carried over a continue-as-new, a stage activity's task, a query's
// answer) larger than Threshold is put into the run's store as a
// content-addressed object (pipeline.Cache.PutPayload) and travels as a
// reference to it: the store's URL and the digest. It is the claim-check
// pattern of Temporal's documentation, done by a payload codec in the
// data converter of the client and the workers (DataConverter): the codec
// runs where the SDK encodes and decodes payloads, never in workflow code,
// and a reference always decodes to the same bytes (the digest is checked),
// so a replayed workflow sees what it saw.
//
// A payload goes to the store of its run: the one bound to its workflow id
// (a run's workflow binds its plan's store; children are named after
// their run's workflow), else Store; with neither it stays inline.
type Payloads struct {
	// Threshold is the size in bytes above which a payload goes to the
	// store (0: DefaultPayloadThreshold).
	Threshold int
	// Store is where payloads go whose workflow has no store bound (lopper
	// worker --store); nil leaves them inline.
	Store *pipeline.Cache

	stores stores // by URL: opened here or bound

	mu    sync.Mutex
	runs  map[string]string // workflow id → store URL
	order []string          // runs's keys, oldest first
}

// DefaultPayloadThreshold is Payloads.Threshold's default: well below the
// 2 MB Temporal refuses, and the 512 KiB the SDK warns about.
const DefaultPayloadThreshold = 256 << 10

// refEncoding marks a payload that is a reference to a stored one.
const refEncoding = "lopper/payload-ref"

// payloadRef is what a reference payload holds.
type payloadRef struct {
	Store  string `json:"store"`
	Run    string `json:"run"` // the run workflow's id: the payloads' directory in the store
	Digest string `json:"digest"`
	Size   int    `json:"size"`
}

// DataConverter returns the SDK's default data converter with p's codec:
// give it to the client (client.Options.DataConverter), whose workers
// use it too.
func (p *Payloads) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), &payloadCodec{p: p})
}

// bind makes store (its URL: url) where the payloads of the workflow id
// and its children go. The bindings of the oldest runs are forgotten past
// memoLimit.
func (p *Payloads) bind(id, url string, store *pipeline.Cache) {
	if p == nil {
		return
	}
	if store != nil {
		p.stores.bind(url, store)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runs == nil {
		p.runs = map[string]string{}
	}
	if _, ok := p.runs[id]; !ok {
		p.order = append(p.order, id)
	}
	p.runs[id] = url
	for len(p.order) > memoLimit {
		delete(p.runs, p.order[0])
		p.order = p.order[1:]
	}
}

// storeURL returns the URL bound to the workflow id or to the run it
// belongs to (a child's id is its run's, a slash and more), and that
// run's id.
func (p *Payloads) storeURL(id string) (url, run string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := id; ; {
		if url, ok := p.runs[k]; ok {
			return url, k, true
		}
		i := strings.LastIndexByte(k, '/')
		if i < 0 {
			return "", "", false
		}
		k = k[:i]
	}
}

// store returns the store at url: Store when set (how this worker
// reaches the runs' store, as Activities.Store), a bound one, or one
// opened here.
func (p *Payloads) store(ctx context.Context, url string) (*pipeline.Cache, error) {
	if p.Store != nil {
		return p.Store, nil
	}
	return p.stores.open(ctx, url, errNoPayloadStore)
}

// target returns where the payloads of the workflow id go: the store
// (nil for none), its URL as the run names it and the run.
func (p *Payloads) target(ctx context.Context, id string) (payloadRef, *pipeline.Cache, error) {
	if url, run, ok := p.storeURL(id); ok {
		c, err := p.store(ctx, url)
		return payloadRef{Store: url, Run: run}, c, err
	}
	if p.Store != nil {
		return payloadRef{Store: p.Store.URL(), Run: id}, p.Store, nil
	}
	return payloadRef{}, nil, nil
}

// Close closes the stores p opened.
func (p *Payloads) Close() error { return p.stores.close() }

// payloadCodec is Payloads as a converter.PayloadCodec; workflow is the
// id of the workflow whose payloads it encodes (its serialization
// context).
type payloadCodec struct {
	p        *Payloads
	workflow string
}

// WithSerializationContext returns the codec for the payloads of one
// workflow (or of one of its activities).
func (c *payloadCodec) WithSerializationContext(sc converter.SerializationContext) converter.PayloadCodec {
	switch s := sc.(type) {
	case converter.WorkflowSerializationContext:
		return &payloadCodec{p: c.p, workflow: s.WorkflowID}
	case converter.ActivitySerializationContext:
		return &payloadCodec{p: c.p, workflow: s.WorkflowID}
	}
	return c
}

// Encode replaces each payload above the threshold by a reference to it in
// the store.
func (c *payloadCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	limit := c.p.Threshold
	if limit <= 0 {
		limit = DefaultPayloadThreshold
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, pl := range payloads {
		out[i] = pl
		if proto.Size(pl) <= limit {
			continue
		}
		ctx := context.Background()
		ref, store, err := c.p.target(ctx, c.workflow)
		if err != nil {
			return nil, fmt.Errorf("the store of large payloads: %w", err)
		}
		if store == nil {
			continue // Temporal refuses it if it is too large
		}
		b, err := proto.Marshal(pl)
		if err != nil {
			return nil, err
		}
		if ref.Digest, err = store.PutPayload(ctx, ref.Run, b); err != nil {
			return nil, fmt.Errorf("put a payload of %d bytes into the store %s: %w", len(b), store.Location(), err)
		}
		ref.Size = len(b)
		data, err := json.Marshal(ref)
		if err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(refEncoding)}, Data: data}
	}
	return out, nil
}

// Decode replaces each reference by the payload it names, read back from
// its store and checked against its digest.
func (c *payloadCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, pl := range payloads {
		out[i] = pl
		if string(pl.GetMetadata()[converter.MetadataEncoding]) != refEncoding {
			continue
		}
		var ref payloadRef
		if err := json.Unmarshal(pl.GetData(), &ref); err != nil {
			return nil, fmt.Errorf("a payload reference: %w", err)
		}
		ctx := context.Background()
		store, err := c.p.store(ctx, ref.Store)
		if err != nil {
			return nil, fmt.Errorf("the store of payload %s: %w", ref.Digest, err)
		}
		b, err := store.GetPayload(ctx, ref.Run, ref.Digest)
		if err != nil {
			return nil, err
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(b, &orig); err != nil {
			return nil, fmt.Errorf("the payload %s in %s: %w", ref.Digest, store.Location(), err)
		}
		out[i] = &orig
	}
	return out, nil
}

// errNoPayloadStore: a payload reference that names no store, in a process given none.
var errNoPayloadStore = errors.New("a payload is in a store with no URL, which this process was not given")
