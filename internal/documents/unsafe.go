package documents

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// BlockedSuffix is appended to the name of an attachment whose type is
// blocked (the setting documents_blocked_extensions): "Rechnung.exe" is
// filed as "Rechnung.exe.blocked".
//
// Why a renamed file and not a quarantine folder: Windows acts on the
// extension. Explorer parses .lnk, .scf, .url, .library-ms and .search-ms
// files (and reads desktop.ini) as soon as someone merely opens the folder
// they lie in, fetching icons from whatever UNC path they name — which
// sends the viewer's NTLM hash to that host — and runs .exe, .js, .hta …
// on a double-click. A quarantine subfolder is still a folder people
// browse, so its files would do the same there; only a changed extension
// defuses them. ".blocked" is unknown to Windows: Explorer shows it (it
// hides known extensions only, so "Angebot.pdf.exe.blocked" is visibly no
// PDF), parses nothing and asks which program to use instead of running
// it. The file stays beside the mail's other files, where the employee
// looks for it, and can be renamed back on purpose.
const BlockedSuffix = ".blocked"

// DefaultBlocked is the default of the setting documents_blocked_extensions:
// the file types Outlook itself blocks as "Level 1" (the employee cannot
// open them from the mail either; filing them unchanged would bypass that),
// plus the files Explorer acts on when a folder is only browsed
// (desktop.ini, search and library descriptions) and installer packages.
// An entry starting with a dot is an extension (matched at the end of the
// name, so ".library-ms" works); any other entry is a whole file name.
// Matching ignores case.
var DefaultBlocked = []string{
	// Read by Explorer when the folder is browsed.
	"desktop.ini", ".library-ms", ".search-ms", ".searchconnector-ms", ".settingcontent-ms",
	// Installer packages and libraries not on Outlook's list.
	".appx", ".appxbundle", ".msix", ".msixbundle", ".appinstaller", ".dll", ".ocx", ".sys", ".rdp",
	// Outlook's Level 1 list.
	".ade", ".adp", ".app", ".appcontent-ms", ".application", ".appref-ms", ".asp", ".aspx", ".asx",
	".bas", ".bat", ".bgi", ".cab", ".cer", ".chm", ".cmd", ".cnt", ".com", ".cpl", ".crt", ".csh",
	".der", ".diagcab", ".exe", ".fxp", ".gadget", ".grp", ".hlp", ".hpj", ".hta", ".htc", ".img",
	".inf", ".ins", ".iso", ".isp", ".its", ".jar", ".jnlp", ".js", ".jse", ".ksh", ".lnk",
	".mad", ".maf", ".mag", ".mam", ".maq", ".mar", ".mas", ".mat", ".mau", ".mav", ".maw", ".mcf",
	".mda", ".mdb", ".mde", ".mdt", ".mdw", ".mdz", ".msc", ".msh", ".msh1", ".msh2", ".mshxml",
	".msh1xml", ".msh2xml", ".msi", ".msp", ".mst", ".msu", ".ops", ".osd", ".pcd", ".pif", ".pl",
	".plg", ".prf", ".prg", ".printerexport", ".ps1", ".ps1xml", ".ps2", ".ps2xml", ".psc1", ".psc2",
	".psd1", ".psdm1", ".pst", ".py", ".pyc", ".pyo", ".pyw", ".pyz", ".pyzw", ".reg", ".scf", ".scr",
	".sct", ".shb", ".shs", ".theme", ".tmp", ".url", ".vb", ".vbe", ".vbp", ".vbs", ".vhd", ".vhdx",
	".vsmacros", ".vsw", ".webpnp", ".website", ".ws", ".wsb", ".wsc", ".wsf", ".wsh", ".xbap",
	".xll", ".xnk",
}

// NormalizeBlocked checks one entry of documents_blocked_extensions and
// returns it as Layout matches it: lower case, "exe" and "*.exe" become
// ".exe", "desktop.ini" stays a whole name.
func NormalizeBlocked(entry string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(entry))
	e = strings.TrimPrefix(e, "*")
	if !strings.Contains(e, ".") {
		e = "." + e
	}
	if e == "." || strings.HasSuffix(e, ".") || strings.ContainsAny(e, forbiddenChars) ||
		strings.ContainsFunc(e, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
		}) {
		return "", fmt.Errorf("documents: %q is not a file extension (.exe) or a file name (desktop.ini)", entry)
	}
	return e, nil
}

// blockedBy returns the entry of blocked (normalised by NormalizeBlocked)
// that the sanitised name matches, or "".
func blockedBy(name string, blocked []string) string {
	lower := strings.ToLower(name)
	for _, b := range blocked {
		if strings.HasPrefix(b, ".") && strings.HasSuffix(lower, b) || lower == b {
			return b
		}
	}
	return ""
}

// ErrUnsafeLink means a cloud link's address cannot go into a .url file.
var ErrUnsafeLink = errors.New("documents: unsafe link")

// InternetShortcut returns the content of a .url file that opens
// sourceURL, Graph's address of a cloud link (a referenceAttachment). The
// address comes from the sender's mail, so it is checked: only an absolute
// http or https URL with a host, without user info and without control or
// format characters is accepted, and it is written as url.Parse
// re-serialises it, so the file has exactly the two lines below. A CR or
// LF would otherwise add lines such as IconFile=\\host\share (Explorer
// fetches the icon, and sends the NTLM hash, when the folder is browsed);
// a file:// or UNC target would open a share on a double-click. Other
// addresses return an error wrapping ErrUnsafeLink saying why (without the
// address).
func InternetShortcut(sourceURL string) (string, error) {
	if strings.ContainsFunc(sourceURL, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) {
		return "", fmt.Errorf("%w: the address contains control or invisible formatting characters", ErrUnsafeLink)
	}
	u, err := url.Parse(strings.TrimSpace(sourceURL))
	if err != nil {
		// Without the address: the error ends up in logs and notes, and a
		// sharing link may carry an access key.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("%w: not a valid URL: %w", ErrUnsafeLink, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%w: scheme %q is not http or https", ErrUnsafeLink, u.Scheme)
	case u.Opaque != "" || u.Host == "":
		return "", fmt.Errorf("%w: the address has no host", ErrUnsafeLink)
	case u.User != nil:
		return "", fmt.Errorf("%w: the address carries user information", ErrUnsafeLink)
	}
	s := u.String()
	// String escapes what it must; make sure nothing but printable ASCII
	// reaches the INI-style file.
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return "", fmt.Errorf("%w: the address does not serialise to printable ASCII", ErrUnsafeLink)
	}
	return "[InternetShortcut]\r\nURL=" + s + "\r\n", nil
}
