package pipeline

import (
	"fmt"
	"slices"
	"strings"
)

// suggest returns the candidate closest to name by edit distance (with
// transpositions), or "" when none is close enough to be a plausible typo:
// at most a third of the name's letters (1 to 3) may differ, and not all of
// them. A candidate that starts with a name of 3 or more letters ("sched"
// for "schedule") is suggested when nothing is closer.
func suggest(name string, candidates []string) string {
	best, bestDist := "", 0
	n := len([]rune(name))
	limit := max(1, min(3, n/3))
	lower := strings.ToLower(name)
	for _, c := range slices.Sorted(slices.Values(candidates)) {
		if c == name {
			continue
		}
		d := editDistance(lower, strings.ToLower(c))
		if d <= limit && d < n && (best == "" || d < bestDist) {
			best, bestDist = c, d
		}
	}
	if best != "" || n < 3 {
		return best
	}
	for _, c := range slices.Sorted(slices.Values(candidates)) {
		if strings.HasPrefix(strings.ToLower(c), lower) {
			return c
		}
	}
	return ""
}

// didYouMean returns ` (did you mean "x"?)` or "".
func didYouMean(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// oneOf formats candidates for "want one of ..." messages.
func oneOf(candidates []string) string {
	q := make([]string, len(candidates))
	for i, c := range candidates {
		q[i] = fmt.Sprintf("%q", c)
	}
	return strings.Join(q, ", ")
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and adjacent transpositions cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
