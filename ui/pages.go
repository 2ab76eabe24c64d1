package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kfp-argo/kfp-argo/experiments"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assets embed.FS

func assetFS() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return sub
}

// pages holds one template set per page, each the layout plus the page's own file.
type pages struct {
	sets map[string]*template.Template
	css  template.CSS
}

// pageFiles maps a page name to the file that defines its "content" (and the fragments it renders).
var pageFiles = map[string]string{
	"experiments": "experiments.html",
	"runs":        "runs.html",
	"run":         "run.html",
	"run-body":    "run.html",
	"compare":     "compare.html",
	"logs":        "logs.html",
	"error":       "error.html",
	"report":      "report.html",
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"stateClass":  stateClass,
		"pct":         pct,
		"pathEscape":  url.PathEscape,
		"queryEscape": url.QueryEscape,
		"time": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"isoTime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		},
		"terminal": func(s experiments.State) bool { return s.Terminal() },
		"progress": func(r experiments.Run) string { return r.Progress() },
		"add":      func(a, b int) int { return a + b },
		"mul":      func(a, b int) int { return a * b },
		"indent":   func(n int) string { return strings.Repeat("\u00a0\u00a0", n) },
		"states":   experiments.States,
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
	}
}

func newPages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs()).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("ui templates: %w", err)
	}
	p := &pages{sets: map[string]*template.Template{}}
	for name, file := range pageFiles {
		set, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+file)
		if err != nil {
			return nil, fmt.Errorf("ui template %s: %w", file, err)
		}
		p.sets[name] = set
	}
	css, err := fs.ReadFile(assets, "assets/style.css")
	if err != nil {
		return nil, fmt.Errorf("ui assets: %w", err)
	}
	// Our own embedded stylesheet, inlined into the report.
	p.css = template.CSS(css)
	return p, nil
}

// render executes a page into a buffer first, so that a template error is a clean error page and never
// half a page.
func (p *pages) render(w http.ResponseWriter, name string, data map[string]any) error {
	var buf bytes.Buffer
	if err := p.execute(&buf, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err := buf.WriteTo(w)
	return err
}

func (p *pages) execute(w io.Writer, name string, data map[string]any) error {
	set, ok := p.sets[name]
	if !ok {
		return fmt.Errorf("no page %q", name)
	}
	entry := "layout.html"
	if name == "run-body" {
		entry = "run-body"
	}
	if name == "report" {
		entry = "report"
		data["CSS"] = p.css
	}
	if err := set.ExecuteTemplate(w, entry, data); err != nil {
		return fmt.Errorf("render %s page: %w", name, err)
	}
	return nil
}

// error writes an error page; its own failure can only be reported as plain text.
func (p *pages) error(w http.ResponseWriter, code int, title, msg string) {
	var buf bytes.Buffer
	if err := p.execute(&buf, "error", map[string]any{"Title": title, "Message": msg, "Code": code}); err != nil {
		http.Error(w, title+": "+msg, code)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}
