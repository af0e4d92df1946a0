package reports

import (
	"errors"
	"fmt"
	"io"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// WriteTable writes the runs' key figures as a terminal table, then one plain line
// per run that lost or duplicated jobs, was interrupted, or beat the network floor.
func WriteTable(w io.Writer, res *Result) error {
	if res == nil {
		return errors.New("write table: nil result")
	}
	// Row cells are already formatted strings; numbers right-aligned so they line up,
	// the run name left-aligned. Header auto-format is off: it would upper-case "ms".
	align := make(tw.Alignment, len(summaryColumns))
	for i := range align {
		align[i] = tw.AlignRight
	}
	align[0] = tw.AlignLeft
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{Global: tw.AlignRight, PerColumn: align}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
	t.Header(anySlice(summaryHeader(true))...)
	for i := range res.Runs {
		if err := t.Append(summaryRow(&res.Runs[i])); err != nil {
			return fmt.Errorf("write table: run %q: %w", res.Runs[i].Name, err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for i := range res.Runs {
		if line := warningLine(&res.Runs[i]); line != "" {
			if _, err := fmt.Fprintln(w, line); err != nil {
				return fmt.Errorf("write table: %w", err)
			}
		}
	}
	return nil
}

// anySlice adapts a []string to Header's variadic ...any.
func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
