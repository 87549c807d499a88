package temporal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/internal/fsx"
	"lopper/pipeline"
)

// InputFile is a file or directory the run's recipe reads (Decl.Files),
// as the machine of `lopper run` saw it: its path (absolute, as the recipe
// names it), its FileDigest and size. Its contents are in the run's store
// (Cache.PutInput), from where workers fetch them.
type InputFile struct {
	Path   string `json:"path"`
	Dir    bool   `json:"dir,omitempty"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
}

// UploadInputs digests the files and directories r reads (Recipe.Files)
// and puts each that the store lacks into it, logging what it uploads and
// how far it got. A path that is not there is left out: the stage that
// reads it fails on its worker as it would here. keep, when set, is the
// run's log in the store: each input is logged there before it is
// checked, so that `lopper cache gc` keeps it for the run.
func UploadInputs(ctx context.Context, r *pipeline.Recipe, c *pipeline.Cache, keep *pipeline.CacheRun, log hclog.Logger) ([]InputFile, error) {
	log = log.Named("inputs")
	var files []InputFile
	for _, p := range r.Files() {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			log.Debug("input not found; not uploaded", "path", p)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		d, err := pipeline.FileDigest(p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		size, err := pipeline.FileSize(p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		files = append(files, InputFile{Path: p, Dir: fi.IsDir(), Size: size, Digest: d})
	}
	var todo []InputFile
	var total, done int64
	for _, f := range files {
		if keep != nil { // logged before it is checked: gc keeps it from now on
			if err := keep.KeepInput(f.Digest); err != nil {
				return nil, err
			}
		}
		ok, err := c.HasInput(ctx, f.Digest)
		if err != nil {
			return nil, fmt.Errorf("the run's store: %w", err)
		}
		if !ok {
			todo = append(todo, f)
			total += f.Size
		}
	}
	if len(todo) == 0 {
		log.Debug("every input is in the store", "inputs", len(files))
		return files, nil
	}
	log.Info("uploading inputs to the store", "uploads", len(todo), "inputs", len(files), "bytes", total, "store", c.Location())
	var last time.Time
	show := func(file string) {
		log.Info("progress", "done", done, "total", total, "unit", "bytes", "percent", fmt.Sprintf("%.0f", 100*float64(done)/float64(max(total, 1))), "input", file)
		last = time.Now()
	}
	for _, f := range todo {
		start, sent := time.Now(), int64(0)
		err := c.PutInput(ctx, f.Path, f.Digest, func(n int64) {
			sent += n
			done += n
			if time.Since(last) >= uploadProgressEvery {
				show(f.Path)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("upload input %s to %s: %w", f.Path, c.Location(), err)
		}
		done += f.Size - sent // what the store had, or linked
		show(f.Path)
		log.Debug("uploaded input", "path", f.Path, "bytes", f.Size, "seconds", fmt.Sprintf("%.2f", time.Since(start).Seconds()))
	}
	return files, nil
}

// uploadProgressEvery is how often an upload's progress is logged.
const uploadProgressEvery = 5 * time.Second

// workerFiles is how a stage on a worker reaches the run's input files
// (pipeline.FileSource): as the run's machine saw them (the run's
// InputFiles), read from local copies that the worker fetches from the
// store into its own directory, once for every stage and run that reads
// them. A path this worker sees with the same digest is read in place; a
// path the run did not upload (known only at run time) is read at its
// path.
type workerFiles struct {
	cache  *pipeline.Cache
	dir    string // the worker's directory: inputs/ and views/ below it
	byPath map[string]InputFile
	log    hclog.Logger
	locks  *sync.Map // digest → *sync.Mutex, the worker's: one fetch of an input at a time
	// use holds the copies and views the stage uses until it ends
	// (release), so that trimming the worker's directory leaves them.
	use  *workDirUse
	held []func()
}

func newWorkerFiles(c *pipeline.Cache, dir string, files []InputFile, locks *sync.Map, use *workDirUse, log hclog.Logger) *workerFiles {
	w := &workerFiles{cache: c, dir: dir, byPath: map[string]InputFile{}, log: log, locks: locks, use: use}
	for _, f := range files {
		w.byPath[f.Path] = f
	}
	return w
}

// hold holds the unit at path for the rest of the stage.
func (w *workerFiles) hold(path string) {
	release, err := w.use.hold(path)
	if err != nil {
		w.log.Warn("cannot mark a copy as used", "path", path, "error", err)
	}
	w.held = append(w.held, release)
}

// release lets the units the stage held go.
func (w *workerFiles) release() {
	for _, r := range w.held {
		r()
	}
	w.held = nil
}

// fileInfo describes an input as the run's machine saw it.
type fileInfo struct{ f InputFile }

func (i fileInfo) Name() string       { return filepath.Base(i.f.Path) }
func (i fileInfo) Size() int64        { return i.f.Size }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.f.Dir }
func (i fileInfo) Sys() any           { return nil }
func (i fileInfo) Mode() fs.FileMode {
	if i.f.Dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}

func (w *workerFiles) Stat(path string) (fs.FileInfo, error) {
	if f, ok := w.byPath[path]; ok {
		return fileInfo{f}, nil
	}
	return os.Stat(path)
}

func (w *workerFiles) Digest(path string) (string, error) {
	if f, ok := w.byPath[path]; ok {
		return f.Digest, nil
	}
	return pipeline.FileDigest(path)
}

func (w *workerFiles) Local(ctx context.Context, recipeDir string, paths []string) (map[string]string, string, error) {
	local := map[string]string{}
	for _, p := range paths {
		f, ok := w.byPath[p]
		if !ok {
			local[p] = p
			continue
		}
		l, err := w.fetch(ctx, f)
		if err != nil {
			return nil, "", err
		}
		local[p] = l
	}
	view, err := w.view(recipeDir, local)
	return local, view, err
}

// fetch returns where this worker has f: at its own path when that holds
// the same contents, else its copy in DIR/inputs/HEX-NAME/NAME, fetched
// from the store the first time.
func (w *workerFiles) fetch(ctx context.Context, f InputFile) (string, error) {
	if _, err := os.Stat(f.Path); err == nil {
		if d, err := pipeline.FileDigest(f.Path); err == nil && d == f.Digest {
			return f.Path, nil
		}
	}
	hexd := strings.TrimPrefix(f.Digest, "sha256:")
	name := filepath.Base(f.Path)
	holder := filepath.Join(w.dir, "inputs", hexd+"-"+safeName(name))
	copyPath := filepath.Join(holder, name)
	mu, _ := w.locks.LoadOrStore(f.Digest, &sync.Mutex{})
	mu.(*sync.Mutex).Lock() // stages that start together fetch it once
	defer mu.(*sync.Mutex).Unlock()
	w.hold(holder) // before it is looked for: trimming leaves it from now on
	if _, err := os.Stat(copyPath); err == nil {
		return copyPath, nil
	}
	if err := os.MkdirAll(filepath.Dir(holder), 0o755); err != nil {
		return "", err
	}
	start := time.Now()
	err := fsx.WriteDirNew(holder, func(tmp string) error {
		return w.cache.FetchInput(ctx, f.Digest, filepath.Join(tmp, name))
	})
	if errors.Is(err, fs.ErrExist) { // another stage fetched it meanwhile
		return copyPath, nil
	}
	if err != nil {
		return "", fmt.Errorf("fetch input %s (%s) from the run's store: %w", f.Path, f.Digest, err)
	}
	w.log.Info("fetched input", "path", f.Path, "bytes", f.Size, "copy", copyPath, "seconds", fmt.Sprintf("%.2f", time.Since(start).Seconds()))
	return copyPath, nil
}

// runKey tells a run's attempts apart (a resumed run is another): the
// digest of its record's header, which holds its start time.
func runKey(header []byte) string {
	h := sha256.Sum256(header)
	return hex.EncodeToString(h[:16])
}

// workFetcher brings the files that stages wrote on workers into the run
// directory (pipeline.Cache.FetchWorkDir), once per stage instance.
type workFetcher struct {
	cache  *pipeline.Cache
	run    string // runKey
	runDir string
	own    string // this process's worker, which writes the run directory itself
	done   map[string]bool
	log    hclog.Logger
}

func (f *workFetcher) fetch(ctx context.Context, stages []*pipeline.StageRecord) {
	if f == nil {
		return
	}
	rec := &pipeline.RunRecord{Stages: stages}
	rec.Walk(func(s *pipeline.StageRecord) {
		if (s.Status != pipeline.StageSucceeded && s.Status != pipeline.StageFailed) || s.Worker == "" || s.Worker == f.own || f.done[s.Path] {
			return
		}
		f.done[s.Path] = true
		ok, err := f.cache.FetchWorkDir(ctx, f.run, s.Path, s.Attempts, f.runDir)
		switch {
		case err != nil:
			f.log.Warn("cannot fetch the files a stage wrote on its worker", "stage", s.Path, "worker", s.Worker, "error", err)
		case ok:
			f.log.Debug("fetched the files the stage wrote on its worker", "stage", s.Path, "worker", s.Worker)
		}
	})
}

// safeName is name with only letters, digits, '.', '-' and '_'.
func safeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
}

// view returns a directory standing for recipeDir: the local copies of
// the paths below it, linked at their relative paths (DIR/views/HASH,
// made once per set of links).
func (w *workerFiles) view(recipeDir string, local map[string]string) (string, error) {
	links := map[string]string{}
	for p, l := range local {
		if rel, err := filepath.Rel(recipeDir, p); err == nil && fsx.Within(p, recipeDir) && p != recipeDir {
			links[rel] = l
		}
	}
	keys := slices.Sorted(maps.Keys(links))
	b, err := json.Marshal([]any{recipeDir, keys, links})
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	view := filepath.Join(w.dir, "views", hex.EncodeToString(h[:16]))
	w.hold(view)
	if _, err := os.Stat(view); err == nil {
		return view, nil
	}
	if err := os.MkdirAll(filepath.Dir(view), 0o755); err != nil {
		return "", err
	}
	err = fsx.WriteDirNew(view, func(tmp string) error {
		for _, rel := range keys {
			p := filepath.Join(tmp, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(links[rel], p); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrExist) {
		return view, nil
	}
	return view, err
}
