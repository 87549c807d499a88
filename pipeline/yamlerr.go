package pipeline

import (
	"bytes"
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
// stops being valid YAML, and within that line the column is where a
// prefix first fails with that problem whatever text follows it
// (failingColumn).

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
// and column (0 when unknown) and a message.
func yamlSyntaxError(src []byte, err error) (line, col int, msg string) {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, 0, "YAML: " + err.Error()
	}
	problem := m[2]
	if strings.HasPrefix(problem, "unknown anchor") || strings.HasPrefix(problem, "anchor ") || strings.Contains(problem, "aliasing") {
		return 0, 0, "YAML: " + problem
	}
	msg = "YAML syntax error: " + problem
	if l := firstFailingLine(src, problem); l > 0 {
		return l, failingColumn(src, l, problem), msg
	}
	// Fall back to yaml.v3's line, corrected for its 0-based parser marks.
	n := 1
	if m[1] != "" {
		n, _ = strconv.Atoi(m[1])
		if slices.Contains(yamlParserProblems, problem) {
			n++
		}
	}
	return n, firstColumn(lineOf(src, n)), msg
}

// yamlErrorSuffixes are appended to a prefix of the document to tell a
// failure at a token inside the prefix (the same whatever follows) from one
// caused by the prefix's end (an unclosed bracket fails at the end of any
// prefix, with the problem the whole document has). Each starts with a
// space or newline so as not to join the prefix's last token.
var yamlErrorSuffixes = []string{"", " ]", " }", " ,", " x", "\n"}

// columnSearchBytes bounds the bytes that failingColumn parses, so that a
// long line near the end of a large document costs a bounded time.
const columnSearchBytes = 32 << 20

// failingColumn returns the 1-based column, in characters, of the token on
// line (1-based) at which src fails with problem: the end of the shortest
// prefix of the line that fails with problem whatever follows it. When no
// prefix of the line does (the token is on a later line: an unclosed bracket
// that the parser notices further down), it is the first character at which
// the document, cut there, fails with problem, or the opening bracket just
// before it. Failing both, it is the line's first non-blank character.
func failingColumn(src []byte, line int, problem string) int {
	text := lineOf(src, line)
	start := lineStart(src, line)
	runes := []rune(text)
	budget := columnSearchBytes
	fails := func(prefix, suffix string) bool {
		budget -= len(prefix) + len(suffix)
		var n yaml.Node
		err := yaml.Unmarshal([]byte(prefix+suffix), &n)
		if err == nil {
			return false
		}
		m := yamlLineRE.FindStringSubmatch(err.Error())
		return m != nil && m[2] == problem
	}
	cut := 0 // the first column at which the cut document fails
	for c := 1; c <= len(runes) && budget > 0; c++ {
		prefix := string(src[:start]) + string(runes[:c])
		if !fails(prefix, "") {
			continue
		}
		if cut == 0 {
			cut = c
		}
		robust := true
		for _, suffix := range yamlErrorSuffixes[1:] {
			if !fails(prefix, suffix) {
				robust = false
				break
			}
		}
		if robust {
			return keyStart(runes, c, problem)
		}
	}
	if cut == 0 {
		return firstColumn(text)
	}
	// An unclosed bracket: point at it.
	i := cut - 2
	for i >= 0 && runes[i] == ' ' {
		i--
	}
	if i >= 0 && (runes[i] == '[' || runes[i] == '{') {
		return i + 1
	}
	return cut
}

// keyStart moves a parser error found at a mapping's ':' (column c) back to
// the key before it: libyaml marks the key, which it only recognises once it
// sees the ':'.
func keyStart(runes []rune, c int, problem string) int {
	if !slices.Contains(yamlParserProblems, problem) || runes[c-1] != ':' {
		return c
	}
	i := c - 2
	for i >= 0 && runes[i] == ' ' {
		i--
	}
	if i < 0 {
		return c
	}
	for i > 0 && !strings.ContainsRune(" \t{[,", runes[i-1]) {
		i--
	}
	return i + 1
}

// lineOf returns line n (1-based) of src without its line break, or "".
func lineOf(src []byte, n int) string {
	lines := strings.Split(string(src), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimRight(lines[n-1], "\r")
}

// lineStart returns the byte offset at which line n (1-based) of src starts.
func lineStart(src []byte, n int) int {
	off := 0
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src[off:], '\n')
		if j < 0 {
			return len(src)
		}
		off += j + 1
	}
	return off
}

// firstColumn returns the 1-based column of the first non-blank character
// of a line, or 1.
func firstColumn(line string) int {
	for i, r := range []rune(line) {
		if r != ' ' && r != '\t' {
			return i + 1
		}
	}
	return 1
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
