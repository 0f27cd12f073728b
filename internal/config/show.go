package config

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
)

// Redacted returns the configuration as key/value pairs with passwords in
// URLs replaced, suitable for printing and logging.
func (c *Config) Redacted() map[string]string {
	out := make(map[string]string)
	for k, v := range toMap(*c) {
		out[k] = RedactURL(fmt.Sprint(v))
	}
	return out
}

// Show writes the redacted configuration as YAML-compatible "key: value" lines.
func (c *Config) Show(w io.Writer) error {
	m := c.Redacted()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := fmt.Fprintf(w, "%s: %q\n", k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// RedactURL hides the password of a URL's user info and the values of
// query parameters that usually carry secrets. Non-URLs are returned as is.
// A URL that cannot be parsed (e.g. a password with an unescaped "%") is
// reduced to its scheme: the password cannot be told apart from the rest.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if scheme, _, ok := strings.Cut(s, "://"); ok && validScheme(scheme) {
			return scheme + "://… (unparseable, redacted)"
		}
		if strings.ContainsAny(s, "@%") {
			return "… (unparseable, redacted)"
		}
		return s // e.g. ":8080", which url.Parse refuses for lack of a scheme
	}
	if u.Scheme == "" {
		return s
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		switch k {
		case "password", "sslpassword", "secret", "token":
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// validScheme reports whether s has the form of a URL scheme (RFC 3986).
func validScheme(s string) bool {
	for i, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// urlProblem describes why url.Parse refused a URL without repeating it
// (url.Error carries the whole URL) or the bytes around a bad escape.
func urlProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var esc url.EscapeError
	if errors.As(err, &esc) {
		return `invalid %-escape; write a "%" in the user name or password as %25`
	}
	var host url.InvalidHostError
	if errors.As(err, &host) {
		return "invalid character in the host"
	}
	if msg := err.Error(); !strings.ContainsAny(msg, `"'`) {
		return msg
	}
	return "not a valid URL" // the message quotes a part, which may be the password

}
