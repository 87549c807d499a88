package fsx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Protected is a path that a replace must never touch, with what it is
// ("the recipe", "the input model") for the message.
type Protected struct {
	Path string
	What string
}

// Guard decides whether lopper may write a directory at a path, replacing
// what is there. The zero Guard protects the working directory and
// replaces only empty directories.
type Guard struct {
	// Force lets an existing directory that is not lopper's own be
	// replaced (the user's --force). Protected paths stay protected.
	Force bool
	// Keep lists paths that must survive: the target is never one of
	// them nor a directory that contains one. The working directory is
	// always kept.
	Keep []Protected
	// Inputs lists paths being read: kept like Keep, and the target may
	// not lie inside one either.
	Inputs []Protected
	// Owned says whether an existing directory is lopper's own output
	// that may be replaced: nil error if so, else why not (e.g. "it holds
	// notes.txt, which lopper did not write"). Nil Owned: none is.
	Owned func(dir string) error
}

// RefusedError is a Guard's refusal.
type RefusedError struct {
	// Path is the target as the caller named it.
	Path string
	// Reason says why, in words.
	Reason string
	// Forcible is true when Guard.Force would have allowed it.
	Forcible bool
}

// Error says "refusing to write PATH: REASON".
func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing to write %s: %s", e.Path, e.Reason)
}

// Check returns nil when dst may be written, replacing what is there, or
// a *RefusedError saying why not.
func (g Guard) Check(dst string) error {
	target, err := Canonical(dst)
	if err != nil {
		return err
	}
	if filepath.Dir(target) == target {
		return &RefusedError{Path: dst, Reason: "it is the root of the file system"}
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	keep := append([]Protected{{Path: wd, What: "the working directory"}}, g.Keep...)
	for _, p := range append(keep, g.Inputs...) {
		cp, err := Canonical(p.Path)
		if err != nil {
			return err
		}
		switch {
		case cp == target:
			return &RefusedError{Path: dst, Reason: fmt.Sprintf("it is %s", p.What)}
		case Within(cp, target):
			return &RefusedError{Path: dst, Reason: fmt.Sprintf("it contains %s (%s)", p.What, p.Path)}
		}
	}
	for _, p := range g.Inputs {
		cp, err := Canonical(p.Path)
		if err != nil {
			return err
		}
		if Within(target, cp) {
			return &RefusedError{Path: dst, Reason: fmt.Sprintf("it is inside %s (%s), which lopper only reads", p.What, p.Path)}
		}
	}
	fi, err := os.Lstat(dst)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&os.ModeSymlink != 0:
		return &RefusedError{Path: dst, Reason: "it is a symbolic link; name the directory it points to, or another path"}
	case !fi.IsDir():
		return &RefusedError{Path: dst, Reason: "it is a file, not a directory"}
	}
	entries, err := os.ReadDir(dst)
	if err != nil {
		return err
	}
	if len(entries) == 0 || g.Force {
		return nil
	}
	reason := "it exists and lopper did not write it"
	if g.Owned != nil {
		oerr := g.Owned(dst)
		if oerr == nil {
			return nil
		}
		reason = oerr.Error()
	}
	return &RefusedError{Path: dst, Reason: reason, Forcible: true}
}

// Canonical returns p absolute, cleaned, with the symbolic links of its
// longest existing prefix resolved, so that two names of one place compare
// equal.
func Canonical(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	cur := abs
	for {
		r, err := filepath.EvalSymlinks(cur)
		if err == nil {
			for i := len(rest) - 1; i >= 0; i-- {
				r = filepath.Join(r, rest[i])
			}
			return r, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = append(rest, filepath.Base(cur))
		cur = parent
	}
}

// Within reports whether the canonical path p lies strictly inside the
// canonical directory dir.
func Within(p, dir string) bool {
	if p == dir {
		return false
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
