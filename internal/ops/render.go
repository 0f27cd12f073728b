package ops

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/dedesales/exchange-connector/internal/explain"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/labstack/echo/v4"
)

//go:embed templates/*.html
var templateFS embed.FS

// stylesheet is inlined into every page and allowed by its CSP hash.
//
//go:embed templates/ops.css
var stylesheet string

// page is what the layout needs; every page's data embeds it.
type page struct {
	Title    string
	CSRF     string // the session's (or the login form's) CSRF token
	LoggedIn bool
	Message  string
}

var funcs = template.FuncMap{
	// stylesheet is the inline CSS; it must be written byte for byte, or
	// the CSP hash no longer matches.
	"stylesheet": func() template.CSS { return template.CSS(stylesheet) },
	"reasonText": match.ReasonText,
	"eventText":  explain.Event,
	"timeFmt":    timeFmt,
	"add":        func(a, b float64) float64 { return a + b },
	"deref": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
}

// templates maps a page's file name to the page parsed with the layout.
var templates = func() map[string]*template.Template {
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		// layout.html and the partials (_*.html) are parsed with every page.
		if !strings.HasSuffix(n.Name(), ".html") || n.Name() == "layout.html" || strings.HasPrefix(n.Name(), "_") {
			continue
		}
		out[n.Name()] = template.Must(template.New(n.Name()).Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/_*.html", "templates/"+n.Name()))
	}
	return out
}()

// render writes a page. data must embed page.
func (h *Handler) render(c echo.Context, status int, name string, data any) error {
	t, ok := templates[name]
	if !ok {
		return fmt.Errorf("ops: no template %s", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("ops: rendering %s: %w", name, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// sessionPage is the layout data of a page behind the login.
func sessionPage(c echo.Context, title string) page {
	s, _ := c.Get(ctxSession).(session)
	return page{Title: title, CSRF: s.CSRF, LoggedIn: s.ID != ""}
}

// timeFmt writes a time for operators, in the server's zone.
func timeFmt(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}

// ago writes how long ago t was, to the second.
func ago(now time.Time, t *time.Time) string {
	if t == nil {
		return "never"
	}
	return roughDuration(now.Sub(*t)) + " ago"
}

// roughDuration writes d with two units at most: 3d 4h, 5h 12m, 7m 3s.
func roughDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch {
	case d >= 24*time.Hour:
		s = fmt.Sprintf("%dd %dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		s = fmt.Sprintf("%dh %dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		s = fmt.Sprintf("%dm %ds", d/time.Minute, d%time.Minute/time.Second)
	default:
		s = fmt.Sprintf("%ds", d/time.Second)
	}
	if neg {
		return "-" + s
	}
	return s
}

// message shows a short page with a title and a sentence.
func (h *Handler) message(c echo.Context, status int, title, msg string) error {
	p := sessionPage(c, title)
	p.Message = msg
	return h.render(c, status, "message.html", p)
}
