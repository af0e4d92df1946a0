package reports

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// report.html is one file that works offline: no script, stylesheet, font or image
// fetched from anywhere; the plots are inline SVG that scales to the page; it says what
// report.md says.
func TestHTMLSelfContained(t *testing.T) {
	res := scenarioResult(t)
	plots, err := Plots(res)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, res, plots); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	// (xmlns="http://www.w3.org/2000/svg" names a namespace; nothing fetches it.)
	for _, banned := range []string{"<script", "<link", "<img", "@import", "url(", "src=", `href="http`, `href="//`} {
		if strings.Contains(page, banned) {
			t.Errorf("report.html contains %q: it must need nothing from outside", banned)
		}
	}
	if n := strings.Count(page, "<svg"); n != len(plots) {
		t.Errorf("%d inline SVGs, want %d plots", n, len(plots))
	}
	if regexp.MustCompile(`<svg[^>]*>`).FindAllString(page, -1)[0] == "" || !strings.Contains(page, `viewBox="0 0 `) {
		t.Errorf("inline SVGs need a viewBox to scale")
	}
	// The plots take the content's full width (a phone scrolls them rather than shrink
	// their text past reading); the viewBox keeps their proportions.
	if !regexp.MustCompile(`figure\.plot svg \{[^}]*width: 100%; height: auto;`).MatchString(page) || regexp.MustCompile(`figure\.plot svg \{[^}]*max-width`).MatchString(page) {
		t.Errorf("plots must be width 100%%, height auto, without a max-width")
	}
	if strings.Contains(page, "<?xml") {
		t.Errorf("an XML declaration inside HTML")
	}
	for _, want := range []string{`<meta name="viewport"`, "<table>", "Expectations: 1 of 3 hold", "The analysis' estimates", "coordinated omission", "scenario seed"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// Run names and notes come from scenario files: markup in them stays text, and the page
// forbids fetching anything anyway.
func TestHTMLUserTextStaysText(t *testing.T) {
	res := testResult(t)
	res.Runs[0].Name = "![px](https://evil.example/p.png) <script>alert(1)</script> [x](https://evil.example)"
	res.Runs[0].Notes = []string{"<img src=https://evil.example/n.png>"}
	var b bytes.Buffer
	if err := WriteHTML(&b, res, nil); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<img", "<script", `href="https://evil`, "<a "} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html contains %q from a run name", bad)
		}
	}
	if !strings.Contains(page, "Content-Security-Policy") || !strings.Contains(page, "evil.example/p.png") {
		t.Errorf("want the CSP and the name shown as text")
	}
	if n := strings.Count(regexp.MustCompile(`<svg[^>]*>`).FindString(string(inlineSVG([]byte(`<?xml version="1.0"?><!-- x --><svg xmlns="http://www.w3.org/2000/svg" width="720pt" height="360pt" viewBox="0 0 720 360">`)))), "viewBox"); n != 1 {
		t.Errorf("inlined <svg> has %d viewBox attributes, want 1", n)
	}
}
