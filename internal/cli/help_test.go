package cli

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// helpFlags runs `lopper help NAME` and returns the flags its help lists.
func helpFlags(t *testing.T, name string) []string {
	t.Helper()
	code, stdout, stderr := lopper(context.Background(), "help", name)
	if code != exitOK {
		t.Fatalf("lopper help %s: exit %d, %s", name, code, stderr)
	}
	var flags []string
	for _, line := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "  --"); ok {
			flags = append(flags, strings.Fields(rest)[0])
		}
	}
	return flags
}

// readmeCommands returns the text of each "### lopper NAME …" section of
// the README's Commands chapter, by NAME (cache's subcommands together).
func readmeCommands(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(repoPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, text, ok := strings.Cut(string(b), "\n## Commands\n")
	if !ok {
		t.Fatal("README.md has no Commands chapter")
	}
	if i := strings.Index(text, "\n## "); i >= 0 {
		text = text[:i]
	}
	sections := map[string]string{}
	for _, part := range strings.Split(text, "\n### ")[1:] {
		heading, _, _ := strings.Cut(part, "\n")
		f := strings.Fields(heading)
		if len(f) < 2 || f[0] != "lopper" {
			t.Errorf("README Commands heading %q is not `lopper NAME …`", heading)
			continue
		}
		sections[f[1]] += part
	}
	return sections
}

var readmeFlag = regexp.MustCompile("--([a-z][a-z0-9-]*)")

// ownLines drops the example command lines of other commands from a
// README section ("$ lopper prune …" in verify's).
func ownLines(doc, name string) string {
	var keep []string
	for _, line := range strings.Split(doc, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "$ "))
		if len(f) >= 2 && f[0] == "lopper" && f[1] != name {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// Every command has `lopper help NAME` with its flags and an example; the
// README documents every command there is, no other, and for each exactly
// the flags the binary has (the common --log-level and --log-format once,
// in the chapter's introduction).
func TestHelpAndREADMEAgree(t *testing.T) {
	sections := readmeCommands(t)
	for _, c := range commands() {
		name := c.name
		code, stdout, _ := lopper(context.Background(), "help", name)
		if code != exitOK || !strings.HasPrefix(stdout, "Usage: lopper "+name+" ") || !strings.Contains(stdout, "\nExamples:\n  lopper "+name) {
			t.Errorf("lopper help %s: exit %d, no usage line or example:\n%s", name, code, stdout)
		}
		flags := helpFlags(t, name)
		if len(flags) == 0 {
			t.Errorf("lopper help %s lists no flags", name)
		}
		doc, ok := sections[name]
		if !ok {
			t.Errorf("README has no `### lopper %s` section", name)
			continue
		}
		for _, f := range flags {
			if !regexp.MustCompile("--" + regexp.QuoteMeta(f) + "([^a-z0-9-]|$)").MatchString(doc) {
				t.Errorf("README's lopper %s does not mention --%s", name, f)
			}
		}
		unknown := map[string]bool{}
		for _, m := range readmeFlag.FindAllStringSubmatch(ownLines(doc, name), -1) {
			if !slices.Contains(flags, m[1]) && !commonFlags[m[1]] && !unknown[m[1]] {
				unknown[m[1]] = true
				t.Errorf("README's lopper %s mentions --%s, which it does not have", name, m[1])
			}
		}
	}
	for name := range sections {
		if _, ok := lookup(name); !ok {
			t.Errorf("README documents `lopper %s`, which does not exist", name)
		}
	}
}

// The command table lists each command once, by name in alphabetical
// order (the order of the command list), and each name finds its command.
func TestCommandTable(t *testing.T) {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
		if c.run == nil || c.summary == "" || c.args == "" {
			t.Errorf("command %q lacks run, summary or args", c.name)
		}
		if got, ok := lookup(c.name); !ok || got.name != c.name {
			t.Errorf("lookup(%q) = %q, %v", c.name, got.name, ok)
		}
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("command names %v are not sorted and unique", names)
	}
	for _, builtin := range []string{"help", "version"} {
		if _, ok := lookup(builtin); ok {
			t.Errorf("%s is built in, not a table command", builtin)
		}
	}
	_, stdout, _ := lopper(context.Background(), "help")
	var listed []string
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); strings.HasPrefix(line, "  ") && len(f) > 1 && slices.Contains(names, f[0]) {
			listed = append(listed, f[0])
		}
	}
	if !slices.Equal(listed, names) {
		t.Errorf("lopper help lists %v, want %v", listed, names)
	}
}

// lopper, lopper help and lopper help NAME; -h anywhere prints help on
// stdout with exit 0; a command without its arguments says what is
// missing and points to its help, with exit 2.
func TestHelpAndUsage(t *testing.T) {
	ctx := context.Background()
	code, stdout, stderr := lopper(ctx)
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "lopper help COMMAND") {
		t.Errorf("lopper: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "help"}} {
		code, stdout, _ := lopper(ctx, args...)
		if code != exitOK || !strings.Contains(stdout, "  verify    ") || !strings.Contains(stdout, "  version   ") {
			t.Errorf("%v: exit %d, %q", args, code, stdout)
		}
	}
	if code, _, stderr := lopper(ctx, "help", "prun"); code != exitUsage || !strings.Contains(stderr, `unknown command "prun"`) {
		t.Errorf("help of an unknown command: exit %d, %q", code, stderr)
	}
	if code, stdout, _ := lopper(ctx, "prune", "--model", "x", "-h"); code != exitOK || !strings.Contains(stdout, "--calib-mode MODE") {
		t.Errorf("prune -h: exit %d, %q", code, stdout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "lopper run: want one RECIPE (or --resume RUN_DIR), got 0 arguments"},
		{[]string{"plan"}, "lopper plan: want one RECIPE, got 0 arguments"},
		{[]string{"graph"}, "lopper graph: want one RECIPE, got 0 arguments"},
		{[]string{"status"}, "lopper status: want one RECIPE, got 0 arguments"},
		{[]string{"validate"}, "lopper validate: want at least one RECIPE"},
		{[]string{"inspect"}, "lopper inspect: want one MODEL_DIR"},
		{[]string{"diff"}, "lopper diff: want two runs"},
		{[]string{"prune"}, "lopper prune: --model is required"},
		{[]string{"eval"}, "lopper eval: --model is required"},
		{[]string{"verify"}, "lopper verify: want one MODEL_DIR"},
		{[]string{"cache"}, "lopper cache: want a subcommand, gc or verify"},
		{[]string{"prune", "--bogus"}, "flag provided but not defined"},
	} {
		code, stdout, stderr := lopper(ctx, c.args...)
		name := c.args[0]
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "Run 'lopper help "+name+"'") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q and a pointer to the help", c.args, code, stdout, stderr, c.want)
		}
	}
}
