package ui

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Charts are SVG documents drawn by gonum.org/v1/plot and shown as data: URIs in <img>: self-contained
// (the report has no other files), no element IDs that could clash between charts on one page, and
// whatever text a chart carries (run names) is inert, as an SVG image runs no script.

// palette gives runs stable colours, the same in every chart of a page.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

func runColor(i int) color.RGBA { return palette[i%len(palette)] }

// svgDataURI renders p as an SVG data: URI.
func svgDataURI(p *plot.Plot, w, h vg.Length) (template.URL, error) {
	c := vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(false))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("render chart: %w", err)
	}
	// The URI is built here from bytes gonum wrote, never from user text directly, so it is safe as a URL.
	return template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// metricBarChart draws one metric across runs; runs without the metric get no bar.
func metricBarChart(metric string, runNames []string, values []float64, present []bool) (template.URL, error) {
	p := plot.New()
	p.Title.Text = metric
	p.Y.Label.Text = metric
	w := vg.Points(28)
	for i := range runNames {
		if !present[i] {
			continue
		}
		vals := make(plotter.Values, len(runNames))
		vals[i] = values[i]
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return "", fmt.Errorf("chart %s: %w", metric, err)
		}
		b.Color = runColor(i)
		b.LineStyle.Width = 0
		p.Add(b)
	}
	p.NominalX(shortNames(runNames)...)
	p.Add(plotter.NewGrid())
	return svgDataURI(p, vg.Points(float64(max(260, 70*len(runNames)))), vg.Points(220))
}

// rocCurve is one run's ROC curve for the overlay.
type rocCurve struct {
	Name   string
	Color  int
	Points []ROCPoint
}

// rocChart overlays ROC curves, with the chance diagonal.
func rocChart(title string, curves []rocCurve) (template.URL, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "false positive rate"
	p.Y.Label.Text = "true positive rate"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	p.Add(plotter.NewGrid())
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return "", fmt.Errorf("roc chart: %w", err)
	}
	diag.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	diag.LineStyle.Color = color.Gray{Y: 0xaa}
	p.Add(diag)
	p.Legend.Top = false
	p.Legend.Left = false
	for _, c := range curves {
		xys := make(plotter.XYs, len(c.Points))
		for i, pt := range c.Points {
			xys[i] = plotter.XY{X: pt.FPR, Y: pt.TPR}
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return "", fmt.Errorf("roc curve of %s: %w", c.Name, err)
		}
		l.LineStyle.Color = runColor(c.Color)
		l.LineStyle.Width = vg.Points(2)
		s.Color = runColor(c.Color)
		p.Add(l, s)
		p.Legend.Add(c.Name, l)
	}
	return svgDataURI(p, vg.Points(360), vg.Points(320))
}

// shortNames keeps axis labels readable: long run names are cut in the middle.
func shortNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		r := []rune(n)
		if len(r) > 18 {
			n = string(r[:8]) + "…" + string(r[len(r)-8:])
		}
		out[i] = n
	}
	return out
}
