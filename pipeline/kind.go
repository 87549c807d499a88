package pipeline

import (
	"context"
	"fmt"
	"regexp"
	"slices"
)

// Kind is a stage kind (load, prune, evaluate, ...), registered by the
// program into a Registry. The engine calls, for every stage that uses it:
//
//   - NewConfig for a fresh pointer to decode the stage's `with` block into.
//     Decoding is strict (unknown fields are errors, reported at their
//     FILE:LINE:COL with a did-you-mean). Fields that name other stages use
//     Ref, which remembers its position.
//   - Check, to validate the decoded config. Report problems with
//     c.Errorf("field.path", ...) so they point at the right place. Check is
//     called at load time (values interpolated at run time are still unknown
//     then: problems on those fields are deferred) and again at run time on
//     the fully interpolated config.
//   - Declare, for what the stage consumes and produces: the stages it reads
//     (dependencies, with the artifact it needs from each), the metric names
//     it will produce (so `baseline.perplexitty` is a load-time error) and the
//     artifact names it will produce.
//   - Run, to do the work. cfg is the interpolated, checked config. Run must
//     return promptly when ctx is cancelled, must not mutate its inputs'
//     artifacts, and must produce every metric and artifact it declared.
//
// Implementations must be safe for concurrent use: several stages of one kind
// run at once. Typed adapts plain functions over a concrete config type.
type Kind interface {
	NewConfig() any
	Check(c *Checker, cfg any)
	Declare(cfg any) Decl
	Run(ctx context.Context, sc *StageContext, cfg any) (*Result, error)
}

// Decl is what a stage declares about itself for a given config.
//
// The stage cache reuses a result when the kind, the resolved config, the
// inputs (artifact digests, and the metrics of inputs read for their
// metrics), the contents of Files, the instance path and iteration, the
// matrix values and lopper's build are all unchanged. Run must therefore
// depend on nothing else: a kind that reads a file lists it in Files, and a
// kind whose result depends on anything outside that list (the run record,
// the clock, the run directory, the machine's speed) or that exists for its
// side effects (writing files) sets Volatile.
type Decl struct {
	Inputs    []Input  // stages read; each becomes a dependency
	Metrics   []string // metric names Run will produce
	Artifacts []string // artifact names Run will produce, e.g. "model"
	// Files are the files and directories Run reads, as written in the
	// config (relative paths are relative to the recipe's directory); their
	// contents are part of the cache key and the lockfile. Empty strings
	// are ignored.
	Files []string
	// Volatile stages are never taken from the cache: they run every time.
	Volatile bool
	// Outputs are the directories Run writes besides its work directory
	// (see Output for where they may be); the engine checks them.
	Outputs []Output
	// Locals are names that only this stage's `${{ }}` interpolations
	// read, with their keys: values that Run alone knows, such as the
	// directory an input is written to (exec's `${{ inputs.model }}`). The
	// engine checks `${{ NAME.KEY }}` at load time like any expression and
	// hands it to Run as that text, which Run replaces (SubstituteLocals).
	Locals map[string][]string
	// Memory, when set, estimates the memory Run will need, from the
	// config as known at load time and the shapes of the inputs; `lopper
	// plan` shows it (Recipe.EstimateMemory). It returns nil when it has
	// nothing to say, an error when it cannot tell (the model directory is
	// missing, say).
	Memory func(MemoryQuery) (*StageMemory, error)
}

// Input is one stage reference of a config: the referenced stage becomes a
// dependency, and when Artifact is set the referenced stage must declare an
// artifact of that name.
type Input struct {
	Ref      Ref
	Artifact string
}

// KindOf is a stage kind written as functions over a concrete config type C;
// Typed turns it into a Kind. Check may be nil.
type KindOf[C any] struct {
	Check   func(c *Checker, cfg *C)
	Declare func(cfg *C) Decl
	Run     func(ctx context.Context, sc *StageContext, cfg *C) (*Result, error)
}

// Typed returns the Kind for k, e.g.
//
//	reg.Register("prune", pipeline.Typed(pipeline.KindOf[PruneConfig]{
//		Check: checkPrune, Declare: declarePrune, Run: runPrune,
//	}))
func Typed[C any](k KindOf[C]) Kind { return typed[C]{k} }

type typed[C any] struct{ k KindOf[C] }

func (t typed[C]) NewConfig() any { return new(C) }

func (t typed[C]) Check(c *Checker, cfg any) {
	if t.k.Check != nil {
		t.k.Check(c, cfg.(*C))
	}
}

func (t typed[C]) Declare(cfg any) Decl {
	if t.k.Declare == nil {
		return Decl{}
	}
	return t.k.Declare(cfg.(*C))
}

func (t typed[C]) Run(ctx context.Context, sc *StageContext, cfg any) (*Result, error) {
	return t.k.Run(ctx, sc, cfg.(*C))
}

// The engine-level kinds, built into every Registry.
const (
	KindLoop   = "loop"
	KindMatrix = "matrix"
	KindAssert = "assert"
)

var kindName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Registry maps kind names to stage kinds and artifact kinds to codecs. Fill
// it before loading recipes; after that it is only read, so it is safe for
// concurrent use.
type Registry struct {
	kinds  map[string]Kind
	codecs map[string]Codec
}

// NewRegistry returns a registry holding the engine-level kinds loop, matrix
// and assert.
func NewRegistry() *Registry {
	return &Registry{
		kinds:  map[string]Kind{KindLoop: nil, KindMatrix: nil, KindAssert: nil},
		codecs: map[string]Codec{},
	}
}

// Register adds a stage kind. It panics when name is taken or malformed
// (lower-case letters, digits, '_' and '-'): registration is program wiring,
// not input.
func (r *Registry) Register(name string, k Kind) {
	if !kindName.MatchString(name) {
		panic(fmt.Sprintf("pipeline: invalid stage kind name %q", name))
	}
	if _, dup := r.kinds[name]; dup {
		panic(fmt.Sprintf("pipeline: stage kind %q registered twice", name))
	}
	if k == nil {
		panic(fmt.Sprintf("pipeline: stage kind %q is nil", name))
	}
	r.kinds[name] = k
}

// Kind returns the registered kind called name. Engine-level kinds report
// ok with a nil Kind.
func (r *Registry) Kind(name string) (k Kind, ok bool) {
	k, ok = r.kinds[name]
	return k, ok
}

// Kinds returns every kind name, sorted, engine-level kinds included.
func (r *Registry) Kinds() []string {
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// RegisterCodec adds the codec for its artifact kind; it panics when that
// kind already has one.
func (r *Registry) RegisterCodec(c Codec) {
	if _, dup := r.codecs[c.Kind()]; dup {
		panic(fmt.Sprintf("pipeline: codec for artifact kind %q registered twice", c.Kind()))
	}
	r.codecs[c.Kind()] = c
}

// Codec returns the codec for an artifact kind.
func (r *Registry) Codec(kind string) (Codec, bool) {
	c, ok := r.codecs[kind]
	return c, ok
}
