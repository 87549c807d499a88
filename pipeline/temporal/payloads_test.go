package temporal

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// countPayloads counts the payloads' files in a store on this machine's
// disk (a local directory, or a file:// bucket's).
func countPayloads(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, "payloads"), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return filepath.SkipDir
		}
		if err == nil && d.Type().IsRegular() && d.Name() == "payload" && !strings.Contains(p, "/.") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// With the threshold lowered below the size of a plan, every large
// payload (the plan, children's tasks and results, the carried
// completions, the result) goes through the store, and the run's records
// are those of a run whose payloads are inline.
func TestLargePayloadsTravelThroughTheStore(t *testing.T) {
	for _, c := range childRecipes {
		if c.name != "sweep" && c.name != "nesting" && c.name != "loop last_passing" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			r, _, _ := load(t, c.src)
			fresh := func() runner.Options {
				cache, err := pipeline.OpenCache(filepath.Join(t.TempDir(), "cache"))
				if err != nil {
					t.Fatal(err)
				}
				return runner.Options{Build: "b", Numerics: "n", Jobs: 3, Cache: cache}
			}
			want := comparable(t, run(t, &testExecutor{t: t}, r, fresh()), true)
			for _, v := range []struct {
				name              string
				children, history int
			}{{"inline", 0, 0}, {"children continuing as new", -1, 1}} {
				opts := fresh()
				x := &testExecutor{t: t, payloads: &Payloads{Threshold: 512},
					plan: func(p *Plan) { p.ChildEvents, p.HistoryEvents = v.children, v.history }}
				if got := comparable(t, run(t, x, r, opts), true); got != want {
					t.Fatalf("%s, payloads in the store:\n%s\ninline\n%s", v.name, got, want)
				}
				if n := countPayloads(t, opts.Cache.Dir()); n == 0 {
					t.Errorf("%s: no payload went to the store", v.name)
				}
			}
		})
	}
}

// The codec leaves small payloads alone, replaces a large one by a
// reference of bounded size, gives it back as it was, and refuses one
// whose stored bytes changed.
func TestPayloadCodecRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	store, err := pipeline.OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := &Payloads{Threshold: 1024, Store: store}
	codec := &payloadCodec{p: p}
	small := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte("json/plain")}, Data: []byte(`{"a":1}`)}
	large := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte("json/plain")}, Data: bytes.Repeat([]byte("x"), 1<<20)}
	enc, err := codec.Encode([]*commonpb.Payload{small, large})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(enc[0], small) {
		t.Errorf("a small payload was changed: %v", enc[0])
	}
	if proto.Size(enc[1]) > 1024 || string(enc[1].Metadata[converter.MetadataEncoding]) != refEncoding {
		t.Fatalf("a large payload became %d bytes, encoding %s", proto.Size(enc[1]), enc[1].Metadata[converter.MetadataEncoding])
	}
	// Another process, with no store of its own, reads it back from the
	// store the reference names (here: the same local one, bound).
	other := &Payloads{}
	other.bind("run", "", store)
	dec, err := (&payloadCodec{p: other}).Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(dec[0], small) || !proto.Equal(dec[1], large) {
		t.Fatal("decoded payloads differ from the originals")
	}
	if n := countPayloads(t, dir); n != 1 {
		t.Fatalf("%d payload objects, want 1", n)
	}
	files, err := filepath.Glob(filepath.Join(dir, "payloads", "*", "*", "payload"))
	if err != nil || len(files) != 1 {
		t.Fatalf("payload files %v %v", files, err)
	}
	if err := os.WriteFile(files[0], []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := codec.Decode(enc); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("a changed payload decoded: %v", err)
	}
}
