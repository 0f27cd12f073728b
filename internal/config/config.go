// Package config loads the connector's configuration: defaults, then a YAML
// file, then CONNECTOR_* environment variables, each overriding the one
// before. Load validates the result and says which key is wrong and why.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// EnvPrefix is the prefix of every environment variable the connector reads.
const EnvPrefix = "CONNECTOR_"

// DefaultFile is read when --config is not given and the file exists.
const DefaultFile = "configs/connector.yaml"

// Config is the whole configuration. Keys in YAML are the koanf tags; the
// environment variable of a key is CONNECTOR_ followed by the upper-cased key.
//
// Adding a key is one field here: its koanf tag names it, its default tag
// (omitted for the zero value) gives the default as the YAML file would
// spell it (a []string: comma-separated, as in the environment). The known keys, the defaults, `config show` and the check for
// unknown keys all follow from the struct; document the key in
// configs/connector.example.yaml (a test insists) and check its value in
// Validate when it can be wrong.
type Config struct {
	// DatabaseURL: sqlite:///abs/path.db, sqlite://relative.db or postgres://…
	DatabaseURL string `koanf:"database_url" default:"sqlite://var/connector.db"`
	// RedisURL: the Redis that holds the job queues.
	RedisURL string `koanf:"redis_url" default:"redis://127.0.0.1:6379/0"`
	// Listen: the address the HTTP server listens on.
	Listen string `koanf:"listen" default:":8080"`
	// MetricsListen: the address /metrics, /readyz and /healthz are served
	// on, apart from Listen so that they never face the internet (metrics
	// name mailboxes' employees, readiness names the dependencies). Empty:
	// not served.
	MetricsListen string `koanf:"metrics_listen" default:"127.0.0.1:9090"`
	// TrustedProxies: comma-separated CIDRs (or addresses) of the reverse
	// proxies whose X-Forwarded-For is believed, so that login attempts are
	// limited per client rather than per proxy. Empty: the peer address is
	// the client.
	TrustedProxies string `koanf:"trusted_proxies"`
	// PublicURL: the HTTPS base URL Microsoft Graph posts notifications to.
	PublicURL string `koanf:"public_url"`
	// GraphURL: the Microsoft Graph base URL including the version.
	GraphURL string `koanf:"graph_url" default:"https://graph.microsoft.com/v1.0"`
	// AuthorityURL: the Entra ID (Azure AD) authority host.
	AuthorityURL string `koanf:"authority_url" default:"https://login.microsoftonline.com"`
	// ExtraCAFile: a PEM file of further CAs to trust for Graph and Entra.
	ExtraCAFile string `koanf:"extra_ca_file"`
	// MasterKeyFile: the key that encrypts secrets at rest; created when absent.
	MasterKeyFile string `koanf:"master_key_file" default:"var/master.key"`
	// PreviousMasterKeyFiles: master keys being rotated out. Secrets sealed
	// and clientStates signed under them are still accepted; nothing new
	// is sealed or signed with them (docs/OPERATIONS.md, "Rotating the
	// master key"). In the environment, comma-separated.
	PreviousMasterKeyFiles []string `koanf:"previous_master_key_files"`
	// DocumentsURL: file:///abs/dir or the WebDAV URL of the document store.
	DocumentsURL string `koanf:"documents_url" default:"file://var/documents"`
	// OpsPasswordFile: the bcrypt hash or password for the /ops pages.
	OpsPasswordFile string `koanf:"ops_password_file"`
	// LogLevel: debug, info, warn or error.
	LogLevel string `koanf:"log_level" default:"info"`
	// LogFormat: text or json.
	LogFormat string `koanf:"log_format" default:"text"`
	// OpsQueuesWritable lets operators retry or delete tasks on /ops/queues/
	// (read-only by default).
	OpsQueuesWritable bool `koanf:"ops_queues_writable"`
	// TLSCertFile and TLSKeyFile make the HTTP server speak HTTPS itself
	// (instead of behind a reverse proxy that terminates TLS).
	TLSCertFile string `koanf:"tls_cert_file"`
	TLSKeyFile  string `koanf:"tls_key_file"`
	// SMTP for alert e-mails; no host means alerts are only shown on /ops/.
	SMTPHost         string        `koanf:"smtp_host"`
	SMTPPort         int           `koanf:"smtp_port"`
	SMTPTLS          string        `koanf:"smtp_tls" default:"starttls"`
	SMTPUsername     string        `koanf:"smtp_username"`
	SMTPPasswordFile string        `koanf:"smtp_password_file"`
	SMTPFrom         string        `koanf:"smtp_from"`
	SMTPTimeout      time.Duration `koanf:"smtp_timeout" default:"30s"`
	// APIRatePerSecond limits each key of the CRM API (/api/v1); bursts of
	// twice as many are allowed.
	APIRatePerSecond int `koanf:"api_rate_per_second" default:"50"`
}

// Defaults returns the configuration used when nothing else is set: the
// default tags of Config, decoded as a YAML file's values would be.
func Defaults() Config {
	var c Config
	if err := decodeDefaults(fields(), &c); err != nil {
		// A default tag that does not parse: a programming error, caught by the tests.
		panic(fmt.Sprintf("config: defaults: %v", err))
	}
	return c
}

// decodeDefaults decodes the default tags of fs into out, a pointer to
// their struct. A list without a default is empty, not nil, as the example
// file's [] loads.
func decodeDefaults(fs []field, out any) error {
	m := make(map[string]any)
	for _, f := range fs {
		switch {
		case f.list:
			m[f.key] = splitList(f.def)
		case f.def != "":
			m[f.key] = f.def
		}
	}
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(m, "."), nil); err != nil {
		return err
	}
	return k.UnmarshalWithConf("", out, koanf.UnmarshalConf{Tag: "koanf"})
}

// Load reads the configuration. path is the YAML file; an empty path means
// DefaultFile if it exists. environ supplies the environment (os.Environ when nil).
func Load(path string, environ func() []string) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(toMap(Defaults()), "."), nil); err != nil {
		return nil, fmt.Errorf("config: defaults: %w", err)
	}
	if path == "" {
		if _, err := os.Stat(DefaultFile); err == nil {
			path = DefaultFile
		}
	}
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, fmt.Errorf("config: reading %s: %w", path, err)
		}
	}
	if environ == nil {
		environ = os.Environ
	}
	envProvider := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: environ,
		TransformFunc: func(key, value string) (string, any) {
			key = strings.ToLower(strings.TrimPrefix(key, EnvPrefix))
			return key, envValue(fields(), key, value)
		},
	})
	if err := k.Load(envProvider, nil); err != nil {
		return nil, fmt.Errorf("config: environment: %w", err)
	}
	if err := checkKeys(k.Keys()); err != nil {
		return nil, err
	}
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkKeys refuses keys the connector does not know, so that a typo in the
// YAML file or an environment variable does not go unnoticed.
func checkKeys(keys []string) error {
	known := make(map[string]bool)
	for _, f := range fields() {
		known[f.key] = true
	}
	var errs []error
	for _, key := range keys {
		if !known[key] {
			errs = append(errs, fmt.Errorf("config: unknown key %q (environment variable %s%s)", key, EnvPrefix, strings.ToUpper(key)))
		}
	}
	return errors.Join(errs...)
}

// Validate checks every key and reports all problems at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s (%s%s): %s", key, EnvPrefix, strings.ToUpper(key), fmt.Sprintf(format, args...)))
	}
	if _, _, err := c.Database(); err != nil {
		bad("database_url", "%v", err)
	}
	if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		bad("redis_url", "%q is not a redis://, rediss:// or unix:// URL", RedactURL(c.RedisURL))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port (e.g. :8080)", c.Listen)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("metrics_listen", "%q is not host:port (e.g. 127.0.0.1:9090)", c.MetricsListen)
		} else if c.MetricsListen == c.Listen {
			bad("metrics_listen", "must differ from listen (%s): metrics and readiness are not for the internet", c.Listen)
		}
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		bad("trusted_proxies", "%v", err)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			bad("public_url", "%q is not an absolute https:// URL", RedactURL(c.PublicURL))
		}
	}
	for key, v := range map[string]string{"graph_url": c.GraphURL, "authority_url": c.AuthorityURL} {
		if u, err := url.Parse(v); err != nil || u.Host == "" || u.Scheme != "https" {
			bad(key, "%q is not an absolute https:// URL", RedactURL(v))
		}
	}
	if c.ExtraCAFile != "" {
		if _, err := os.Stat(c.ExtraCAFile); err != nil {
			bad("extra_ca_file", "%v", err)
		}
	}
	if c.MasterKeyFile == "" {
		bad("master_key_file", "must not be empty")
	}
	for _, f := range c.PreviousMasterKeyFiles {
		switch _, err := os.Stat(f); {
		case f == "":
			bad("previous_master_key_files", "an empty file name")
		case filepath.Clean(f) == filepath.Clean(c.MasterKeyFile):
			bad("previous_master_key_files", "%s is the current master_key_file", f)
		case err != nil:
			bad("previous_master_key_files", "%v", err)
		}
	}
	if u, err := url.Parse(c.DocumentsURL); err != nil || (u.Scheme != "file" && u.Scheme != "http" && u.Scheme != "https") {
		bad("documents_url", "%q is not a file:// or WebDAV http(s):// URL", RedactURL(c.DocumentsURL))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log_format", "%q is not one of text, json", c.LogFormat)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("tls_cert_file", "tls_cert_file and tls_key_file go together")
	}
	switch c.SMTPTLS {
	case "starttls", "tls", "none":
	default:
		bad("smtp_tls", "%q is not one of starttls, tls, none", c.SMTPTLS)
	}
	if c.APIRatePerSecond < 1 || c.APIRatePerSecond > 100000 {
		bad("api_rate_per_second", "%d is not from 1 to 100000", c.APIRatePerSecond)
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		bad("smtp_port", "%d is not a port", c.SMTPPort)
	}
	if c.SMTPHost != "" && c.SMTPFrom == "" {
		bad("smtp_from", "must be set when smtp_host is")
	}
	return errors.Join(errs...)
}

// Database returns the driver ("sqlite" or "postgres") and its data source
// name for DatabaseURL. SQLite paths that are not absolute are relative to
// the working directory.
func (c *Config) Database() (driver, dsn string, err error) {
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		// url.Parse's error repeats the whole URL, password included.
		return "", "", fmt.Errorf("%q is not a URL (%s)", RedactURL(c.DatabaseURL), urlProblem(err))
	}
	switch u.Scheme {
	case "sqlite", "sqlite3":
		// sqlite:///abs/path.db has an empty host; sqlite://relative.db puts
		// the first path segment into the host.
		p := u.Host + u.Path
		if u.Host == "" && strings.HasPrefix(u.Path, "/") {
			p = u.Path
		}
		if p == "" {
			return "", "", errors.New("sqlite URL has no file path (want sqlite:///abs/path.db or sqlite://relative.db)")
		}
		return "sqlite", filepath.Clean(p), nil
	case "postgres", "postgresql":
		return "postgres", c.DatabaseURL, nil
	default:
		return "", "", fmt.Errorf("unsupported scheme %q (want sqlite:// or postgres://)", u.Scheme)
	}
}

// field is one configuration key: a field of Config.
type field struct {
	key   string // the koanf tag
	def   string // the default tag
	list  bool   // a []string: comma-separated in the environment and the default tag
	index int    // in Config
}

// fields lists the keys of Config, read from its tags once.
var fields = sync.OnceValue(func() []field { return readFields(reflect.TypeFor[Config]()) })

// readFields lists the keys of a configuration struct.
func readFields(t reflect.Type) []field {
	out := make([]field, 0, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		key := sf.Tag.Get("koanf")
		if key == "" {
			panic("config: field " + sf.Name + " has no koanf tag")
		}
		list := sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.String
		out = append(out, field{key: key, def: sf.Tag.Get("default"), list: list, index: i})
	}
	return out
}

// envValue converts an environment variable's value for its key: a list is
// comma-separated, everything else is decoded like the YAML file's values.
func envValue(fs []field, key, value string) any {
	for _, f := range fs {
		if f.key == key && f.list {
			return splitList(value)
		}
	}
	return value
}

// splitList splits a comma-separated list, dropping blanks; never nil.
func splitList(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// HTTPS reports whether the public URL is https://, in which case the
// operator pages send HSTS and mark every cookie Secure.
func (c *Config) HTTPS() bool {
	u, err := url.Parse(c.PublicURL)
	return err == nil && u.Scheme == "https"
}

// TrustedProxyPrefixes parses TrustedProxies: CIDRs or single addresses,
// separated by commas or spaces.
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(c.TrustedProxies, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR (10.0.0.0/8) nor an address", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR (e.g. 10.0.0.0/8): %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// toMap flattens c into koanf keys.
func toMap(c Config) map[string]any {
	v := reflect.ValueOf(c)
	m := make(map[string]any, v.NumField())
	for _, f := range fields() {
		m[f.key] = v.Field(f.index).Interface()
	}
	return m
}
