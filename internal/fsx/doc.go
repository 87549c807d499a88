// Package fsx is the one place where lopper writes to the user's disk:
// atomic files and directories, durable renames, stale temporary entries
// left by a killed process, and the rule that decides which existing
// directory lopper may replace.
//
// The rule (Guard.Check): lopper replaces an existing directory only when
// it is empty, or when it is lopper's own output (the caller's Owned says
// so: for a model, a directory that lopper saved and that holds nothing
// else), or when the user passed --force. Even with --force it never
// replaces a directory that is, or contains, a protected path: the working
// directory, the recipe, the run directory, the cache, or an input being
// read; and it never writes inside an input.
//
// Temporary entries are named ".<base>.tmp-<random>" next to their target
// and carry an advisory lock (flock) for as long as their writer lives, so
// RemoveStale can tell the leftovers of a killed process (unlocked) from
// another live writer's work (locked).
//
// fsx imports nothing of lopper's.
package fsx
