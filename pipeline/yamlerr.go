package pipeline

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// yaml.v3 reports syntax errors as "yaml: line N: problem" with N taken from
// libyaml's 0-based marks: scanner errors add 1, parser errors do not, and
// a mark on the first line prints no line at all. These are libyaml's parser
// problems (parserc.go); every other problem comes from the scanner.
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

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlSyntaxError turns a yaml.v3 syntax error into a 1-based line (0 when
// unknown) and a message. yaml.v3 gives no column.
func yamlSyntaxError(err error) (line int, msg string) {
	s := err.Error()
	m := yamlLineRE.FindStringSubmatch(s)
	if m == nil {
		msg = strings.TrimPrefix(s, "yaml: ")
		if strings.HasPrefix(msg, "unknown anchor") || strings.HasPrefix(msg, "anchor ") || strings.Contains(msg, "aliasing") {
			return 0, "YAML: " + msg
		}
		// No line printed: libyaml's mark was on the first line.
		return 1, "YAML syntax error: " + msg
	}
	n, _ := strconv.Atoi(m[1])
	if slices.Contains(yamlParserProblems, m[2]) {
		n++
	}
	return n, "YAML syntax error: " + m[2]
}
