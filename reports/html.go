package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"regexp"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// WriteHTML writes report.html: the markdown report rendered to HTML (GitHub-flavoured
// tables), with the plots inline as SVG and the style in the page, so the one file works
// offline, with no CDN, script or web font. It says what report.md says, by construction.
func WriteHTML(w io.Writer, res *Result, plots []*Plot) error {
	var md bytes.Buffer
	if err := WriteMarkdown(&md, res, plots...); err != nil {
		return err
	}
	var body bytes.Buffer
	conv := goldmark.New(goldmark.WithExtensions(extension.Table))
	if err := conv.Convert(md.Bytes(), &body); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	page := body.Bytes()
	// Each plot's <img src="NAME.png"> becomes the plot itself, inline.
	for _, p := range plots {
		svg, err := p.Render("svg")
		if err != nil {
			return err
		}
		img := regexp.MustCompile(`<img src="` + regexp.QuoteMeta(p.Name) + `\.png"[^>]*>`)
		figure := []byte(`<figure class="plot">` + string(inlineSVG(svg)) + `</figure>`)
		page = img.ReplaceAllLiteral(page, figure)
	}
	// Wide tables scroll on their own on a phone instead of widening the page.
	page = bytes.ReplaceAll(page, []byte("<table>"), []byte(`<div class="scroll"><table>`))
	page = bytes.ReplaceAll(page, []byte("</table>"), []byte("</table></div>"))
	title := "wfbench report"
	if res.Scenario != nil {
		title += ": " + res.Scenario.Name
	}
	return htmlPage.Execute(w, struct {
		Title string
		Body  template.HTML
	}{title, template.HTML(page)}) // #nosec: our own markdown, rendered by goldmark (raw HTML off)
}

var (
	xmlDecl  = regexp.MustCompile(`^\s*<\?xml[^>]*>\s*`)
	svgSize  = regexp.MustCompile(`<svg([^>]*?)\swidth="([0-9.]+)(pt|px)?"\s+height="([0-9.]+)(pt|px)?"`)
	svgStart = regexp.MustCompile(`<svg\b`)
	svgTag   = regexp.MustCompile(`<svg\b[^>]*>`)
)

// inlineSVG prepares an SVG document for inlining: no XML declaration, and a viewBox in
// place of its fixed size, so CSS can scale it to the page.
func inlineSVG(svg []byte) []byte {
	svg = xmlDecl.ReplaceAll(svg, nil)
	// Only when the <svg> tag itself has no viewBox (gonum writes one).
	if tag := svgTag.Find(svg); tag != nil && !bytes.Contains(tag, []byte("viewBox")) {
		svg = svgSize.ReplaceAll(svg, []byte(`<svg$1 viewBox="0 0 $2 $4" preserveAspectRatio="xMidYMid meet"`))
	}
	return svgStart.ReplaceAll(svg, []byte(`<svg role="img"`))
}

var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{.Title}}</title>
<style>
:root { color-scheme: light dark; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; padding: 1rem; max-width: 72rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid #8884; } h3 { font-size: 1.05rem; }
.scroll { overflow-x: auto; margin: 0.5rem 0 1rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.9rem; }
th, td { border: 1px solid #8886; padding: 0.25rem 0.5rem; white-space: nowrap; }
th { background: #8882; white-space: normal; vertical-align: bottom; }
td:first-child { white-space: normal; min-width: 8rem; }
code { font-size: 0.85em; background: #8882; padding: 0.05rem 0.25rem; border-radius: 3px; }
figure.plot { margin: 1rem 0; overflow-x: auto; }
figure.plot svg { display: block; width: 100%; height: auto; min-width: 34rem; background: #fff; border-radius: 4px; }
@media (max-width: 40rem) { body { padding: 0.5rem; font-size: 14px; } }
</style>
</head>
<body>
{{.Body}}
</body>
</html>
`))
