package graphsim

import (
	"bytes"
	"fmt"
	"html"
	"mime"
	"net/http"
	"regexp"
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

// Body formats. "Prefer: outlook.body-content-type="text"" returns body
// (and uniqueBody) as text; "If the header is not specified, the body and
// uniqueBody properties are returned in HTML format", and "When you specify
// either header, a successful response would include the corresponding
// Preference-Applied header: outlook.body-content-type="text"" (learn.
// microsoft.com/graph/api/message-get, "Request headers" and example 2;
// graph.md §3.1).
const (
	preferBodyText = `outlook.body-content-type="text"`
	preferBodyHTML = `outlook.body-content-type="html"`
)

// bodyPreference returns the body-content-type preference of a request,
// normalised to preferBodyText or preferBodyHTML, or "" when absent.
func bodyPreference(r *http.Request) string {
	for _, p := range preferValues(r) {
		v, ok := cutPrefixFold(p, "outlook.body-content-type=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.Trim(strings.TrimSpace(v), `"`)) {
		case "text":
			return preferBodyText
		case "html":
			return preferBodyHTML
		}
	}
	return ""
}

// wantsText reports whether the request asks for text bodies.
func wantsText(r *http.Request) bool { return bodyPreference(r) == preferBodyText }

// renderBody returns an itemBody in the asked format: text (HTML rendered
// as plain text) or HTML (a stored text body escaped and wrapped, as
// Exchange does).
func renderBody(b any, text bool) any {
	body, ok := b.(map[string]any)
	if !ok {
		return b
	}
	content := str(body["content"])
	isHTML := strings.EqualFold(str(body["contentType"]), "html")
	switch {
	case text && isHTML:
		return map[string]any{"contentType": "text", "content": htmlToText(content)}
	case text:
		return map[string]any{"contentType": "text", "content": content}
	case isHTML:
		return map[string]any{"contentType": "html", "content": content}
	default:
		esc := strings.ReplaceAll(html.EscapeString(content), "\n", "<br>\r\n")
		return map[string]any{"contentType": "html", "content": "<html><head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n<div>" + esc + "</div>\r\n</body>\r\n</html>\r\n"}
	}
}

var (
	invisibleRE = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)\s*>`)
	breakRE     = regexp.MustCompile(`(?i)<br\s*/?>|</(p|div|tr|li|h[1-6]|table|blockquote)\s*>`)
	blankRE     = regexp.MustCompile(`\n{3,}`)
)

// htmlToText renders an HTML body as text roughly as Exchange does: no
// markup, entities decoded, a line break per block or <br>.
func htmlToText(s string) string {
	s = invisibleRE.ReplaceAllString(s, "")
	s = breakRE.ReplaceAllString(s, "\n")
	s = tagRE.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(strings.ReplaceAll(l, "\u00a0", " ")), " ")
	}
	return strings.TrimSpace(blankRE.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}
