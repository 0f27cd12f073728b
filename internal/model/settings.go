package model

// Setting keys stored in the settings table. Values are stored as JSON text
// (a list is a JSON array of strings, a flag is true/false, a number is a number).
const (
	SettingIgnoredDomains        = "ignored_domains"
	SettingFullMatchDomains      = "full_match_domains"
	SettingOwnDomains            = "own_domains"
	SettingOpportunitiesModule   = "opportunities_module"
	SettingBackfillDays          = "backfill_days"
	SettingSkipInlineAttachments = "skip_inline_attachments"
	SettingMaxAttachmentBytes    = "max_attachment_bytes"
	SettingDocumentsFolder       = "documents_customer_folder"
	SettingDocumentsRoot         = "documents_root"
	SettingDocumentsBlocked      = "documents_blocked_extensions"
)

// Settings is the typed view of the settings the matcher and the jobs read.
type Settings struct {
	// IgnoredDomains: candidates at these domains or their subdomains are dropped.
	IgnoredDomains []string `json:"ignored_domains"`
	// FullMatchDomains: free-mail domains where only a customer's full address matches.
	FullMatchDomains []string `json:"full_match_domains"`
	// OwnDomains: the company's own domains; empty means "the domains of the
	// employees' mailboxes".
	OwnDomains []string `json:"own_domains"`
	// OpportunitiesModule: link opportunities when on.
	OpportunitiesModule bool `json:"opportunities_module"`
	// BackfillDays: how far back the first delta round of a mailbox reaches.
	BackfillDays int `json:"backfill_days"`
	// SkipInlineAttachments: do not file inline images (signature logos).
	SkipInlineAttachments bool `json:"skip_inline_attachments"`
	// MaxAttachmentBytes: larger attachments are not filed (a note, not a failure).
	MaxAttachmentBytes int64 `json:"max_attachment_bytes"`
	// DocumentsCustomerFolder: template of a customer's folder ({number}, {name}, {id}).
	DocumentsCustomerFolder string `json:"documents_customer_folder"`
	// DocumentsRoot: folder below the document store's base holding the customer folders.
	DocumentsRoot string `json:"documents_root"`
	// DocumentsBlocked: attachments of these types (".exe", or a whole name
	// such as "desktop.ini") are filed renamed with ".blocked".
	DocumentsBlocked []string `json:"documents_blocked_extensions"`
}
