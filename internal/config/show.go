package config

import (
	"fmt"
	"io"
	"net/url"
	"sort"
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
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
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
