package api

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// TestCurlExamples runs the curl examples of testdata/curl-examples.sh (the
// ones the documentation shows) against a real server and checks each
// answer's status.
func TestCurlExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	env := newEnv(t, storetest.Open(t, store.SQLite), true)
	f, err := os.Open("testdata/curl-examples.sh")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var expect string
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "# expect "); ok {
			expect = s
			continue
		}
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		n++
		// curl writes the status after the body; the example's own
		// options are kept as they are.
		cmd := exec.Command("bash", "-c", `curl() { command curl -w '\n%{http_code}' "$@"; }; `+line)
		cmd.Env = append(os.Environ(), "API="+env.srv.URL, "TOKEN="+env.write, "READ="+env.read)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if got := lines[len(lines)-1]; got != expect {
			t.Errorf("%s\n→ %s, want %s:\n%s", line, got, expect, out)
		}
	}
	if n < 10 {
		t.Errorf("%d examples run, want all of them", n)
	}
}
