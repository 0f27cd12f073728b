package alert

import (
	"embed"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"
)

//go:embed templates
var templateFS embed.FS

// Languages of the alert mails (the alert_language setting).
const (
	German  = "de"
	English = "en"
)

// SubjectPrefix starts every alert mail's subject.
const SubjectPrefix = "[exchange-connector] "

// templates holds one parsed set per language, built at start-up: a broken
// template is a programming error and fails the tests.
var templates = map[string]*template.Template{
	German:  mustParse(German),
	English: mustParse(English),
}

func mustParse(lang string) *template.Template {
	return template.Must(template.New(lang).Funcs(funcs(lang)).ParseFS(templateFS, "templates/"+lang+"/*.tmpl"))
}

// Language picks the language of a setting value: "en…" is English,
// anything else German (the default).
func Language(setting string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(setting)), "en") {
		return English
	}
	return German
}

// footerData is what the footers receive.
type footerData struct{ Kind, Key, Level string }

// Render returns the subject (with SubjectPrefix) and plain-text body of
// an alert mail in lang.
func Render(lang string, a Alert) (subject, body string, err error) {
	if err := checkData(a.Kind, a.Data); err != nil {
		return "", "", err
	}
	return render(lang, a.Kind, a.Data, "footer", footerData{a.Kind, a.Key, a.Level})
}

// RenderRecovery returns the subject and body of the recovery mail that
// tells that r's condition has cleared.
func RenderRecovery(lang string, r Recovery) (subject, body string, err error) {
	if !slices.Contains(Kinds, r.Kind) {
		return "", "", fmt.Errorf("alert: unknown kind %q", r.Kind)
	}
	return render(lang, r.Kind+".resolved", r, "footer.resolved", footerData{r.Kind, r.Key, r.Level})
}

func render(lang, name string, data any, footer string, fd footerData) (subject, body string, err error) {
	set := templates[Language(lang)]
	var sb, bb strings.Builder
	if err := set.ExecuteTemplate(&sb, name+".subject", data); err != nil {
		return "", "", fmt.Errorf("alert: rendering %s subject: %w", name, err)
	}
	if err := set.ExecuteTemplate(&bb, name+".body", data); err != nil {
		return "", "", fmt.Errorf("alert: rendering %s body: %w", name, err)
	}
	if err := set.ExecuteTemplate(&bb, footer, fd); err != nil {
		return "", "", fmt.Errorf("alert: rendering %s footer: %w", name, err)
	}
	subject = SubjectPrefix + strings.Join(strings.Fields(sb.String()), " ")
	return subject, strings.TrimLeft(bb.String(), "\n"), nil
}

// funcs are the template helpers of a language.
func funcs(lang string) template.FuncMap {
	de := lang == German
	return template.FuncMap{
		"date": func(t time.Time) string {
			if de {
				return t.Format("02.01.2006")
			}
			return t.Format("2 January 2006")
		},
		"datetime": func(t time.Time) string {
			if de {
				return t.Format("02.01.2006 15:04 MST")
			}
			return t.Format("2 January 2006 15:04 MST")
		},
		"days": func(n int) string {
			switch {
			case de && n == 1:
				return "1 Tag"
			case de:
				return fmt.Sprintf("%d Tagen", n)
			case n == 1:
				return "1 day"
			default:
				return fmt.Sprintf("%d days", n)
			}
		},
		"duration":   func(d time.Duration) string { return humanDuration(d, de) },
		"aadsts":     func(code string) string { return aadstsMeaning(code, de) },
		"trimPrefix": strings.TrimPrefix,
	}
}

// humanDuration writes d in the largest one or two units: "3 days 4 hours",
// "2 Tage 1 Stunde", "45 minutes".
func humanDuration(d time.Duration, de bool) string {
	type unit struct {
		size       time.Duration
		one, many  string
		eins, mehr string
	}
	units := []unit{
		{24 * time.Hour, "day", "days", "Tag", "Tage"},
		{time.Hour, "hour", "hours", "Stunde", "Stunden"},
		{time.Minute, "minute", "minutes", "Minute", "Minuten"},
	}
	var parts []string
	for _, u := range units {
		n := int(d / u.size)
		if n == 0 {
			if len(parts) > 0 {
				break // "3 days", not "3 days 0 hours"
			}
			continue
		}
		d -= time.Duration(n) * u.size
		name := u.many
		switch {
		case de && n == 1:
			name = u.eins
		case de:
			name = u.mehr
		case n == 1:
			name = u.one
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, name))
		if len(parts) == 2 {
			break
		}
	}
	if len(parts) == 0 {
		if de {
			return "weniger als 1 Minute"
		}
		return "less than a minute"
	}
	return strings.Join(parts, " ")
}
