package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"

	"lopper/history"
	"lopper/internal/fsx"
)

//go:embed report.md.tmpl report.html.tmpl report.css
var reportAssets embed.FS

var (
	reportMarkdownTemplate = texttemplate.Must(texttemplate.New("report.md.tmpl").Funcs(texttemplate.FuncMap{
		"text": mdText, "code": mdCode, "cellcode": mdCellCode, "short": history.ShortDigest, "link": mdLink,
	}).ParseFS(reportAssets, "report.md.tmpl"))
	reportHTMLTemplate = htmltemplate.Must(htmltemplate.New("report.html.tmpl").Funcs(htmltemplate.FuncMap{
		"short": history.ShortDigest, "css": reportCSS,
	}).ParseFS(reportAssets, "report.html.tmpl"))
)

func reportCSS() (htmltemplate.CSS, error) {
	b, err := reportAssets.ReadFile("report.css")
	return htmltemplate.CSS(b), err
}

// Report formats.
const (
	Markdown = "md"
	HTML     = "html"
)

// Formats returns the formats of want in the order Write writes them
// (HTML, then Markdown); every format when want is empty.
func Formats(want []string) []string {
	all := []string{HTML, Markdown}
	if len(want) == 0 {
		return all
	}
	return slices.DeleteFunc(all, func(f string) bool { return !slices.Contains(want, f) })
}

// File is one file Write wrote.
type File struct {
	Path   string `json:"path"` // relative to the run directory, slash-separated
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Output is what Write wrote.
type Output struct {
	Files  []File           // in the order written: plots, then the pages
	Bytes  map[string]int64 // size of the page, per format
	Plots  int              // plots drawn
	Digest string           // "sha256:…" over the files' paths and digests
}

// Write draws the view's plots and writes the report in each format of its
// Options: RUN_DIR/BASE.md (its plots as SVG files in plotDir) and
// RUN_DIR/BASE.html (plots inline). Every file is written atomically.
func Write(ctx context.Context, v *View, runDir, plotDir, base string) (*Output, error) {
	formats := v.formats
	out := &Output{Bytes: map[string]int64{}}
	wantMD := slices.Contains(formats, Markdown)
	write := func(path string, data []byte) error {
		if err := fsx.WriteFileAtomic(path, data, 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		rel, err := filepath.Rel(runDir, path)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		out.Files = append(out.Files, File{Path: filepath.ToSlash(rel), Bytes: int64(len(data)), SHA256: fmt.Sprintf("%x", sha256.Sum256(data))})
		return nil
	}
	if wantMD && len(v.figures) > 0 {
		if err := os.MkdirAll(plotDir, 0o755); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	for _, f := range v.figures {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		svg, dropped, err := renderSVG(f.spec)
		if err != nil {
			f.Error = err.Error()
			v.Notes = append(v.Notes, fmt.Sprintf("%s: not drawn: %v", f.Title, err))
			continue
		}
		out.Plots++
		if dropped > 0 {
			f.Caption += fmt.Sprintf(" %d non-finite values are not drawn.", dropped)
		}
		f.SVG = htmltemplate.HTML(inlineSVG(svg)) // made by gonum/plot, which escapes its text
		if wantMD {
			path := filepath.Join(plotDir, f.spec.Name+".svg")
			if err := write(path, svg); err != nil {
				return nil, err
			}
			f.File = out.Files[len(out.Files)-1].Path
		}
	}
	for _, format := range formats {
		var buf bytes.Buffer
		var err error
		if format == HTML {
			err = reportHTMLTemplate.Execute(&buf, v)
		} else {
			err = reportMarkdownTemplate.Execute(&buf, v)
		}
		if err != nil {
			return nil, fmt.Errorf("report: %s template: %w", format, err)
		}
		data := buf.Bytes()
		if format == Markdown {
			data = mdBlankLines.ReplaceAll(data, []byte("\n\n"))
		}
		if err := write(filepath.Join(runDir, base+"."+format), data); err != nil {
			return nil, err
		}
		out.Bytes[format] = int64(len(data))
	}
	h := sha256.New()
	for _, f := range out.Files {
		fmt.Fprintf(h, "%s %s\n", f.SHA256, f.Path)
	}
	out.Digest = fmt.Sprintf("sha256:%x", h.Sum(nil))
	return out, nil
}

// BaseName is the file name stem of the report of the stage at path: the
// path with nesting flattened ("report", "sweep-1-report").
func BaseName(path string) string {
	return reportFileStem(strings.NewReplacer("[", "-", "]", "", "/", "-").Replace(path))
}

// mdBlankLines are runs of blank lines, which the Markdown template leaves
// between optional blocks; the report has one blank line between blocks.
var mdBlankLines = regexp.MustCompile(`\n{3,}`)

// mdText escapes text for Markdown (paragraphs and table cells): one line,
// with the characters that start Markdown or HTML syntax escaped.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range reportOneLine(s) {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '#', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode is an inline code span holding s verbatim (outside tables).
func mdCode(s string) string {
	s = reportOneLine(s)
	if s == "" {
		return ""
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdCellCode is mdCode for a table cell, where | must be escaped even in
// code spans.
func mdCellCode(s string) string { return strings.ReplaceAll(mdCode(s), "|", `\|`) }

// mdLink escapes a relative slash-separated path for a Markdown link
// target.
func mdLink(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
