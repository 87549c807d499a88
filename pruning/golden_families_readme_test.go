package pruning

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// familiesTableHeader starts README's table of what each family supports.
const familiesTableHeader = "| `model_type` | tested on |"

// checkREADMEFamilies checks README's table of what each decoder family
// supports against what TestGoldenFamiliesEndToEnd found: one row per
// model_type of the goldens, naming exactly that model_type's goldens,
// every capability column ✓ (the test checks each of them on each golden),
// and the last column saying, per structured pattern, whether the result
// stays loadable by Hugging Face ("HF") or needs lopper_dims — for the
// goldens that Hugging Face can load to begin with.
func checkREADMEFamilies(t *testing.T, seen map[string]familyResult) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := readmeFamilyRows(t, string(b))
	byType := map[string][]string{}
	for name, r := range seen {
		byType[r.modelType] = append(byType[r.modelType], name)
	}
	verdict := regexp.MustCompile(`(heads|neurons) → (HF|lopper_dims)`)
	quoted := regexp.MustCompile("`([^`]+)`")
	for mt, goldens := range byType {
		row, ok := rows[mt]
		if !ok {
			t.Errorf("README's families table has no row for model_type %s (goldens %v)", mt, goldens)
			continue
		}
		delete(rows, mt)
		slices.Sort(goldens)
		var listed []string // the cell's `names`, notes aside
		for _, m := range quoted.FindAllStringSubmatch(row[1], -1) {
			listed = append(listed, m[1])
		}
		slices.Sort(listed)
		if !slices.Equal(listed, goldens) {
			t.Errorf("README's %s row lists %v; the goldens of %s are %v", mt, listed, mt, goldens)
		}
		for i, cell := range row[2 : len(row)-1] {
			if cell != "✓" {
				t.Errorf("README's %s row: column %d is %q; every golden passes every check, so it is ✓", mt, i+3, cell)
			}
		}
		said := map[string]string{}
		for _, m := range verdict.FindAllStringSubmatch(row[len(row)-1], -1) {
			said[m[1]] = m[2]
		}
		for _, p := range []PatternKind{Heads, Neurons} {
			want := "HF"
			for _, g := range goldens {
				if r := seen[g]; r.sourceHF && !r.hf[p] {
					want = "lopper_dims"
				}
			}
			if said[string(p)] != want {
				t.Errorf("README's %s row says %s → %q; the pruned goldens give %s", mt, p, said[string(p)], want)
			}
		}
	}
	for mt := range rows {
		t.Errorf("README's families table has a row for %s, which no golden tests", mt)
	}
}

// readmeFamilyRows returns the cells of the families table's rows by
// model_type (backticks removed from the first cell).
func readmeFamilyRows(t *testing.T, readme string) map[string][]string {
	t.Helper()
	_, table, ok := strings.Cut(readme, familiesTableHeader)
	if !ok {
		t.Fatalf("README has no table starting %q", familiesTableHeader)
	}
	lines := strings.Split(table, "\n")
	cols := len(strings.Split(strings.Trim(familiesTableHeader+lines[0], "|"), "|"))
	rows := map[string][]string{}
	for _, line := range lines[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != cols {
			t.Fatalf("README's families table: row %q has %d cells, the header %d", line, len(cells), cols)
		}
		rows[strings.Trim(cells[0], "`")] = cells
	}
	return rows
}
