package graphsim

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
	"time"
)

// buildMIME renders a Graph message JSON as an RFC 5322 message (what
// Graph's $value returns for a message or an attached item).
func buildMIME(d map[string]any) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	hdr("From", addrList(d["from"]))
	hdr("To", addrList(d["toRecipients"]))
	hdr("Cc", addrList(d["ccRecipients"]))
	hdr("Subject", mime.QEncoding.Encode("utf-8", str(d["subject"])))
	if t, err := time.Parse(time.RFC3339, str(d["sentDateTime"])); err == nil {
		hdr("Date", t.Format(time.RFC1123Z))
	}
	hdr("Message-ID", str(d["internetMessageId"]))
	hdr("MIME-Version", "1.0")
	body, _ := d["body"].(map[string]any)
	ct := "text/plain"
	if strings.EqualFold(str(body["contentType"]), "html") {
		ct = "text/html"
	}
	hdr("Content-Type", ct+"; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(str(body["content"]), "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.Bytes()
}

// addrList renders a recipient or recipient collection as a header value.
func addrList(v any) string {
	var rs []any
	switch x := v.(type) {
	case []any:
		rs = x
	case map[string]any:
		rs = []any{x}
	}
	var out []string
	for _, r := range rs {
		rm, _ := r.(map[string]any)
		ea, _ := rm["emailAddress"].(map[string]any)
		addr := str(ea["address"])
		if addr == "" {
			continue
		}
		if name := str(ea["name"]); name != "" {
			out = append(out, mime.QEncoding.Encode("utf-8", name)+" <"+addr+">")
		} else {
			out = append(out, "<"+addr+">")
		}
	}
	return strings.Join(out, ", ")
}

// str is v as a string ("" for nil or non-strings).
func str(v any) string {
	s, _ := v.(string)
	return s
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// splitList splits a comma-separated OData option.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
