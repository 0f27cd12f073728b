package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func environ(kv ...string) func() []string { return func() []string { return kv } }

func TestLoadDefaults(t *testing.T) {
	t.Chdir(t.TempDir()) // no configs/connector.yaml here
	c, err := Load("", environ())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Defaults(), *c); diff != "" {
		t.Errorf("mismatch (-want +got)\n%s", diff)
	}
}

func TestLoadFileThenEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "database_url: postgres://u:pw@db.example/crm\nlisten: 127.0.0.1:9000\npublic_url: https://connector.example.com\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, environ("CONNECTOR_LISTEN=:9100", "OTHER_VAR=x", "CONNECTOR_LOG_LEVEL=debug"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://u:pw@db.example/crm" || c.Listen != ":9100" || c.LogLevel != "debug" || c.PublicURL != "https://connector.example.com" {
		t.Errorf("loaded %+v", c)
	}
	driver, dsn, err := c.Database()
	if err != nil || driver != "postgres" || dsn != c.DatabaseURL {
		t.Errorf("Database() = %s, %s, %v", driver, dsn, err)
	}
}

func TestValidationNamesKeyAndReason(t *testing.T) {
	_, err := Load("", environ(
		"CONNECTOR_DATABASE_URL=mysql://x/y",
		"CONNECTOR_LISTEN=8080",
		"CONNECTOR_GRAPH_URL=http://graph.example",
		"CONNECTOR_LOG_LEVEL=loud",
		"CONNECTOR_DOCUMENTS_URL=ftp://x",
	))
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, want := range []string{
		`database_url (CONNECTOR_DATABASE_URL): unsupported scheme "mysql"`,
		`listen (CONNECTOR_LISTEN): "8080" is not host:port`,
		`graph_url (CONNECTOR_GRAPH_URL): "http://graph.example" is not an absolute https:// URL`,
		`log_level (CONNECTOR_LOG_LEVEL): "loud"`,
		`documents_url (CONNECTOR_DOCUMENTS_URL)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestUnknownKeysAreRefused(t *testing.T) {
	if _, err := Load("", environ("CONNECTOR_DATABASEURL=sqlite://x.db")); err == nil || !strings.Contains(err.Error(), "CONNECTOR_DATABASEURL") {
		t.Errorf("unknown env key: err = %v", err)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("lisen: :80\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, environ()); err == nil || !strings.Contains(err.Error(), `unknown key "lisen"`) {
		t.Errorf("unknown file key: err = %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), environ()); err == nil {
		t.Error("missing explicit file: no error")
	}
}

func TestSQLiteURLs(t *testing.T) {
	for url, want := range map[string]string{
		"sqlite:///var/lib/connector/c.db": "/var/lib/connector/c.db",
		"sqlite://var/connector.db":        "var/connector.db",
		"sqlite://connector.db":            "connector.db",
	} {
		c := Defaults()
		c.DatabaseURL = url
		driver, dsn, err := c.Database()
		if err != nil || driver != "sqlite" || dsn != want {
			t.Errorf("%s: got %s %s %v, want sqlite %s", url, driver, dsn, err, want)
		}
	}
	c := Defaults()
	c.DatabaseURL = "sqlite://"
	if _, _, err := c.Database(); err == nil {
		t.Error("sqlite:// without a path: no error")
	}
}

func TestShowRedactsPasswords(t *testing.T) {
	c := Defaults()
	c.DatabaseURL = "postgres://crm:hunter2@db/crm?sslmode=require&password=also"
	c.RedisURL = "redis://:topsecret@cache:6379/0"
	var b strings.Builder
	if err := c.Show(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, secret := range []string{"hunter2", "topsecret", "also"} {
		if strings.Contains(out, secret) {
			t.Errorf("Show leaks %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "crm:REDACTED@db") {
		t.Errorf("Show lost the user name:\n%s", out)
	}
}

// The example file documents every key with its default.
func TestExampleFileDocumentsEveryKeyWithItsDefault(t *testing.T) {
	const path = "../../configs/connector.example.yaml"
	c, err := Load(path, environ())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Defaults(), *c); diff != "" {
		t.Errorf("%s differs from Defaults() (-want +got)\n%s", path, diff)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for key := range toMap(Defaults()) {
		if !strings.Contains(string(data), "\n"+key+":") {
			t.Errorf("%s does not document %s", path, key)
		}
	}
}

// The keys follow from Config's tags: every field is a key exactly once,
// `config show` lists each, and none is refused as unknown.
func TestKeysFollowTheStruct(t *testing.T) {
	n := reflect.TypeFor[Config]().NumField()
	m := toMap(Defaults())
	if len(fields()) != n || len(m) != n {
		t.Fatalf("%d fields, %d keys, %d map entries: a koanf tag is missing or repeated", n, len(fields()), len(m))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if err := checkKeys(keys); err != nil {
		t.Error(err)
	}
	c := Defaults()
	shown := c.Redacted()
	for _, f := range fields() {
		if _, ok := shown[f.key]; !ok {
			t.Errorf("config show lacks %s", f.key)
		}
	}
	// Every key can be set from the environment and lands in its field.
	env := []string{"CONNECTOR_SMTP_PORT=2525", "CONNECTOR_OPS_QUEUES_WRITABLE=true", "CONNECTOR_SMTP_TIMEOUT=5s", "CONNECTOR_PUBLIC_URL=https://c.example"}
	got, err := Load("", environ(env...))
	if err != nil {
		t.Fatal(err)
	}
	if got.SMTPPort != 2525 || !got.OpsQueuesWritable || got.SMTPTimeout != 5*time.Second || got.PublicURL != "https://c.example" {
		t.Errorf("environment not applied: %+v", got)
	}
}

// Validate names keys that exist, so that a renamed field cannot leave a
// message about a key nobody can set.
func TestValidateNamesKnownKeys(t *testing.T) {
	c := Config{DatabaseURL: "mysql://x", RedisURL: "http://x", Listen: "x", PublicURL: "ftp://x", GraphURL: "http://x",
		AuthorityURL: "x", ExtraCAFile: "/does/not/exist", DocumentsURL: "ftp://x", LogLevel: "loud", LogFormat: "xml",
		TLSCertFile: "c.pem", SMTPTLS: "ssl", SMTPPort: -1, SMTPHost: "mail"}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken configuration")
	}
	known := toMap(Config{})
	named := regexp.MustCompile(`config: (\w+) \(`).FindAllStringSubmatch(err.Error(), -1)
	if len(named) < 14 {
		t.Errorf("only %d problems reported:\n%v", len(named), err)
	}
	for _, m := range named {
		if _, ok := known[m[1]]; !ok {
			t.Errorf("Validate names the unknown key %q", m[1])
		}
	}
}

// Lists ([]string keys) need no code of their own either: comma-separated
// in a default tag and in the environment, empty (not nil) by default.
func TestListKeys(t *testing.T) {
	type conf struct {
		Files []string      `koanf:"files"`
		Hosts []string      `koanf:"hosts" default:"a.example, b.example"`
		N     int           `koanf:"n" default:"3"`
		Wait  time.Duration `koanf:"wait" default:"1m"`
	}
	fs := readFields(reflect.TypeFor[conf]())
	var c conf
	if err := decodeDefaults(fs, &c); err != nil {
		t.Fatal(err)
	}
	want := conf{Files: []string{}, Hosts: []string{"a.example", "b.example"}, N: 3, Wait: time.Minute}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("defaults (-want +got)\n%s", diff)
	}
	if got := envValue(fs, "files", " /k/old.key,,/k/older.key "); !cmp.Equal(got, []string{"/k/old.key", "/k/older.key"}) {
		t.Errorf("list from the environment: %#v", got)
	}
	if got := envValue(fs, "n", "7"); got != "7" {
		t.Errorf("plain value from the environment: %#v", got)
	}
}

// Previous master keys come as a YAML list or a comma-separated variable;
// a missing file, or the current key listed as previous, is refused.
func TestPreviousMasterKeyFiles(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, f := range []string{"old.key", "older.key"} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile("c.yaml", []byte("previous_master_key_files: [old.key, older.key]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load("c.yaml", environ())
	if err != nil || !cmp.Equal(c.PreviousMasterKeyFiles, []string{"old.key", "older.key"}) {
		t.Fatalf("from YAML: %v, %v", c, err)
	}
	c, err = Load("", environ("CONNECTOR_PREVIOUS_MASTER_KEY_FILES=older.key,old.key"))
	if err != nil || !cmp.Equal(c.PreviousMasterKeyFiles, []string{"older.key", "old.key"}) {
		t.Fatalf("from the environment: %v, %v", c, err)
	}
	_, err = Load("", environ("CONNECTOR_PREVIOUS_MASTER_KEY_FILES=old.key,gone.key", "CONNECTOR_MASTER_KEY_FILE=old.key"))
	for _, want := range []string{
		"previous_master_key_files (CONNECTOR_PREVIOUS_MASTER_KEY_FILES): old.key is the current master_key_file",
		"previous_master_key_files (CONNECTOR_PREVIOUS_MASTER_KEY_FILES): stat gone.key",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// A password with an unescaped "%" makes the URL unparseable; neither the
// error nor `config show` may then print it (security review, issue 14).
func TestUnparseableURLsAreRedacted(t *testing.T) {
	const secret = "Sup3r%Secret"
	for _, env := range []string{
		"CONNECTOR_DATABASE_URL=postgres://crm:" + secret + "@db.example/crm",
		"CONNECTOR_REDIS_URL=redis://:" + secret + "@cache:6379/0",
		"CONNECTOR_DOCUMENTS_URL=https://crm:" + secret + "@cloud.example/remote.php/dav",
	} {
		_, err := Load("", environ(env))
		if err == nil {
			t.Errorf("%s: Load succeeded", env)
			continue
		}
		if strings.Contains(err.Error(), "Sup3r") || strings.Contains(err.Error(), "Secret") {
			t.Errorf("%s: the error leaks the password: %v", env, err)
		}
		if !strings.Contains(err.Error(), "unparseable, redacted") {
			t.Errorf("%s: the error does not say the URL was redacted: %v", env, err)
		}
	}
	c := Defaults()
	c.DatabaseURL = "postgres://crm:" + secret + "@db.example/crm"
	c.DocumentsURL = "https://crm:" + secret + "@cloud.example/dav"
	var b strings.Builder
	if err := c.Show(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "Sup3r") || !strings.Contains(out, `database_url: "postgres://… (unparseable, redacted)"`) {
		t.Errorf("Show:\n%s", out)
	}
	if got := RedactURL(":8080"); got != ":8080" {
		t.Errorf("RedactURL(:8080) = %q: a listen address is not a secret", got)
	}
	if got := RedactURL("postgres://crm:" + secret + "@db:x/crm"); strings.Contains(got, "Sup3r") {
		t.Errorf("RedactURL = %q", got)
	}
}

func TestMetricsListenAndTrustedProxies(t *testing.T) {
	c, err := Load("", environ("CONNECTOR_METRICS_LISTEN=:9100", "CONNECTOR_TRUSTED_PROXIES=10.0.0.0/8, 192.168.1.10,fd00::/8"))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsListen != ":9100" {
		t.Errorf("metrics_listen = %q", c.MetricsListen)
	}
	got, err := c.TrustedProxyPrefixes()
	if err != nil || fmt.Sprint(got) != "[10.0.0.0/8 192.168.1.10/32 fd00::/8]" {
		t.Errorf("TrustedProxyPrefixes = %v, %v", got, err)
	}
	_, err = Load("", environ("CONNECTOR_TRUSTED_PROXIES=10.0.0.0/33,proxy.example", "CONNECTOR_METRICS_LISTEN=:8080"))
	for _, want := range []string{`trusted_proxies (CONNECTOR_TRUSTED_PROXIES): "10.0.0.0/33"`, `metrics_listen (CONNECTOR_METRICS_LISTEN): must differ from listen`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if Defaults().MetricsListen != "127.0.0.1:9090" {
		t.Errorf("default metrics_listen %q is not loopback", Defaults().MetricsListen)
	}
	for url, want := range map[string]bool{"https://c.example": true, "http://c.example": false, "": false} {
		c := Defaults()
		c.PublicURL = url
		if c.HTTPS() != want {
			t.Errorf("HTTPS() for %q = %v", url, !want)
		}
	}
}
