package diagnose

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Formats are the accepted output formats.
var Formats = []string{"text", "md", "json"}

// Write renders d in format (text, md or json).
func Write(w io.Writer, d *Diagnosis, format string) error {
	switch format {
	case "json":
		return WriteJSON(w, d)
	case "md":
		return WriteMarkdown(w, d)
	case "text":
		return WriteText(w, d)
	}
	return fmt.Errorf("format %q: accepted are %s", format, strings.Join(Formats, ", "))
}

// WriteJSON writes the wfbench.diagnosis/v1 document.
func WriteJSON(w io.Writer, d *Diagnosis) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// WriteFiles writes diagnosis.json and diagnosis.md into dir, creating it.
func WriteFiles(dir string, d *Diagnosis) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for name, write := range map[string]func(io.Writer, *Diagnosis) error{
		"diagnosis.json": WriteJSON, "diagnosis.md": WriteMarkdown,
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, write(f, d), f.Close())
	}
	return errors.Join(errs...)
}

// headline is the one line that says what was diagnosed.
func headline(d *Diagnosis) string {
	t := d.Target
	s := "Faktory " + t.FaktoryURL
	if t.FaktoryVersion != "" {
		s += " (" + t.FaktoryVersion + ")"
	}
	if t.APIURL != "" {
		s += ", API " + t.APIURL
	}
	s += fmt.Sprintf(", %.1f s", t.DurationS)
	if t.ReadOnly {
		s += ", read-only"
	}
	return s
}

// queuesLine says whether INFO's queue list is what it was.
func queuesLine(d *Diagnosis) string {
	t := d.Target
	if t.QueuesAfter == nil {
		return "Faktory's queues after: not read (see the error)"
	}
	if t.QueuesUnchanged {
		return fmt.Sprintf("Faktory's queue list before and after (INFO): identical, %d queues %s", len(t.QueuesAfter), listOrNone(t.QueuesAfter))
	}
	return fmt.Sprintf("Faktory's queue list changed: before %s, after %s", listOrNone(t.QueuesBefore), listOrNone(t.QueuesAfter))
}

func listOrNone(qs []string) string {
	if len(qs) == 0 {
		return "[]"
	}
	return "[" + strings.Join(qs, " ") + "]"
}

// value prints a measurement's value without trailing zeros.
func value(m Measurement) string {
	return strconv.FormatFloat(m.Value, 'f', -1, 64)
}

// WriteText is the terminal's form: a line on the target, the measurements, the
// ranked findings, the queue check and the notes.
func WriteText(w io.Writer, d *Diagnosis) error {
	var b strings.Builder
	fmt.Fprintf(&b, "wfbench diagnose: %s\n\n", headline(d))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASUREMENT\tVALUE\tUNIT\tSAMPLES")
	for _, m := range d.Measurements {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", m.Name, value(m), m.Unit, m.Samples)
	}
	_ = tw.Flush()
	b.WriteString("\nFINDINGS, by impact\n")
	if len(d.Findings) == 0 {
		b.WriteString("  none: nothing measured here limits the deployment by the model\n")
	}
	for i, f := range d.Findings {
		fmt.Fprintf(&b, "%d. %s [impact %s]\n", i+1, f.Title, impact(f.Impact))
		fmt.Fprintf(&b, "   measured: %s\n   knob:     %s\n   gain:     %s\n", f.Figure, f.Knob, f.ExpectedGain)
	}
	fmt.Fprintf(&b, "\n%s\n", queuesLine(d))
	for _, n := range d.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// impact prints a finding's rank key: a speed-up, "blocking", or "informational"
// for a finding the model states no speed-up for.
func impact(v float64) string {
	switch {
	case v >= ImpactBlocking:
		return "blocking"
	case v <= 1:
		return "informational"
	}
	return fmtGain(v)
}

// WriteMarkdown renders on GitHub: the target, a table of measurements, then the
// ranked findings.
func WriteMarkdown(w io.Writer, d *Diagnosis) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# wfbench diagnose\n\n%s\n\n## Measurements\n\n", mdEscape(headline(d)))
	b.WriteString("| measurement | value | unit | samples |\n|---|---:|---|---:|\n")
	for _, m := range d.Measurements {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %d |\n", m.Name, value(m), m.Unit, m.Samples) // names: [a-z0-9_:.-]
	}
	b.WriteString("\n## Findings, ranked by impact\n\n")
	if len(d.Findings) == 0 {
		b.WriteString("None: nothing measured here limits the deployment by the model.\n")
	}
	for i, f := range d.Findings {
		fmt.Fprintf(&b, "%d. **%s** (impact %s)\n   - measured: %s\n   - knob: %s\n   - expected gain: %s\n",
			i+1, mdEscape(f.Title), impact(f.Impact), mdEscape(f.Figure), mdEscape(f.Knob), mdEscape(f.ExpectedGain))
	}
	fmt.Fprintf(&b, "\n%s\n", mdEscape(queuesLine(d)))
	if len(d.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range d.Notes {
			fmt.Fprintf(&b, "- %s\n", mdEscape(n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape keeps table cells and list items intact: pipes, and markup characters that
// queue names and sentences may hold.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;").Replace(s)
}
