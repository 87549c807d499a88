package pipeline

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports syntax errors as "yaml: line N: problem" where N is often
// not the problem's line: libyaml's marks are 0-based, scanner errors add 1
// and parser errors do not, a mark on the first line prints no line, and
// parser errors print the line of the enclosing construct (the block mapping
// that holds a bad key) rather than the bad key. The problem's own mark is
// dropped. So the line is recovered by re-parsing: the first line at which a
// prefix of the document fails with the same problem is where the document
// stops being valid YAML.

// These are libyaml's parser problems (parserc.go); every other problem
// comes from the scanner.
var yamlParserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"found undefined tag handle",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlSyntaxError turns a yaml.v3 syntax error on src into a 1-based line
// (0 when unknown) and a message. yaml.v3 gives no column.
func yamlSyntaxError(src []byte, err error) (line int, msg string) {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, "YAML: " + err.Error()
	}
	problem := m[2]
	if strings.HasPrefix(problem, "unknown anchor") || strings.HasPrefix(problem, "anchor ") || strings.Contains(problem, "aliasing") {
		return 0, "YAML: " + problem
	}
	msg = "YAML syntax error: " + problem
	if l := firstFailingLine(src, problem); l > 0 {
		return l, msg
	}
	// Fall back to yaml.v3's line, corrected for its 0-based parser marks.
	if m[1] == "" {
		return 1, msg
	}
	n, _ := strconv.Atoi(m[1])
	if slices.Contains(yamlParserProblems, problem) {
		n++
	}
	return n, msg
}

// firstFailingLine returns the smallest k such that the first k lines of src
// fail to parse with problem, or 0. The parser stops at the first error, so
// once a prefix reaches the bad line every longer prefix fails the same way;
// shorter ones parse, or fail at their (early) end, usually differently.
// That makes a binary search sound enough: at worst it lands inside the
// unclosed construct that causes the error.
func firstFailingLine(src []byte, problem string) int {
	lines := strings.SplitAfter(string(src), "\n")
	prefixEnd := make([]int, len(lines)+1)
	for i, l := range lines {
		prefixEnd[i+1] = prefixEnd[i] + len(l)
	}
	fails := func(k int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(src[:prefixEnd[k]], &n)
		if err == nil {
			return false
		}
		m := yamlLineRE.FindStringSubmatch(err.Error())
		return m != nil && m[2] == problem
	}
	if !fails(len(lines)) {
		return 0
	}
	lo, hi := 1, len(lines)
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
