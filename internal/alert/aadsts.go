package alert

import "strings"

// aadstsMeanings explains the Entra ID error codes an app-only sign-in with
// a client secret or a certificate runs into: {German, English}.
var aadstsMeanings = map[string][2]string{
	"7000215": {"Das Client-Secret ist falsch (oft wurde die Geheimnis-ID statt des Werts kopiert).",
		"The client secret is wrong (often the secret ID was copied instead of its value)."},
	"7000222": {"Das Client-Secret ist abgelaufen.", "The client secret has expired."},
	"700016": {"Die Anwendung ist in diesem Mandanten nicht bekannt (falsche Client-ID, App gelöscht oder keine Zustimmung erteilt).",
		"The application is not known in this tenant (wrong client ID, app deleted, or consent not granted)."},
	"7000229": {"Der Anwendung fehlt im Mandanten der Dienstprinzipal (Unternehmensanwendung): Administratorzustimmung erteilen.",
		"The application has no service principal (enterprise application) in the tenant: grant admin consent."},
	"7000112": {"Die Anwendung ist deaktiviert.", "The application is disabled."},
	"700027": {"Entra ID kennt das Zertifikat nicht: es ist bei der App nicht hochgeladen, wurde entfernt oder ist abgelaufen (Fingerabdrücke vergleichen).",
		"Entra ID does not accept the certificate: it is not uploaded for the app, was removed, or has expired (compare the thumbprints)."},
	"700024": {"Die signierte Anmeldung liegt außerhalb ihrer Gültigkeit: die Uhr des Connector-Rechners prüfen (NTP).",
		"The signed client assertion is outside its valid time range: check the clock of the connector's machine (NTP)."},
	"90002": {"Der Mandant wurde nicht gefunden (falsche Tenant-ID).", "The tenant was not found (wrong tenant ID)."},
	"900023": {"Die Tenant-ID ist weder eine GUID noch eine gültige Domäne.",
		"The tenant ID is neither a GUID nor a valid domain."},
	"53003": {"Die Anmeldung wurde von einer Richtlinie für bedingten Zugriff blockiert.",
		"A Conditional Access policy blocked the sign-in."},
	"500011": {"Die Ressource (Microsoft Graph) ist im Mandanten nicht verfügbar.",
		"The resource (Microsoft Graph) is not available in the tenant."},
}

// aadstsMeaning explains an AADSTS code ("AADSTS7000222" or "7000222").
func aadstsMeaning(code string, de bool) string {
	m, ok := aadstsMeanings[strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(code)), "AADSTS")]
	switch {
	case ok && de:
		return m[0]
	case ok:
		return m[1]
	case de:
		return "unbekannter Code, siehe den Link unten"
	default:
		return "unknown code, see the link below"
	}
}
