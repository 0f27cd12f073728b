package store

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/jmoiron/sqlx"
)

// freeMailDomains is the default of full_match_domains; see seed/README.md
// for its source and licence.
//
//go:embed seed/free_mail_domains.txt
var freeMailDomains string

// settingKind says how a setting's value is written and checked.
type settingKind int

const (
	kindDomains settingKind = iota // JSON array of domains
	kindBool
	kindInt
	kindString
	kindAddresses // JSON array of e-mail addresses
	kindFileTypes // JSON array of file extensions or names (documents.NormalizeBlocked)
)

type settingDef struct {
	kind     settingKind
	def      string // default, as stored (JSON)
	min, max int    // for kindInt
	help     string
	// check validates a kindString value beyond its type (nil: any string).
	check func(string) error
}

// settingDefs lists every setting the connector knows, with its default.
var settingDefs = map[string]settingDef{
	model.SettingIgnoredDomains:        {kind: kindDomains, def: `[]`, help: "candidates at these domains or their subdomains are ignored"},
	model.SettingFullMatchDomains:      {kind: kindDomains, help: "free-mail domains: only a customer's full address matches"},
	model.SettingOwnDomains:            {kind: kindDomains, def: `[]`, help: "the company's own domains; empty: the domains of the employees' mailboxes"},
	model.SettingOpportunitiesModule:   {kind: kindBool, def: `false`, help: "link e-mails to open opportunities"},
	model.SettingBackfillDays:          {kind: kindInt, def: `30`, min: 0, max: 3650, help: "days of mail imported when a mailbox is first synced"},
	model.SettingSkipInlineAttachments: {kind: kindBool, def: `true`, help: "do not file inline images (signature logos)"},
	model.SettingMaxAttachmentBytes:    {kind: kindInt, def: `157286400`, min: 0, max: 1 << 31, help: "attachments above this size are not filed"},
	model.SettingDocumentsFolder:       {kind: kindString, def: `"{number}"`, help: "customer folder template: {number}, {name}, {id}", check: checkFolderTemplate},
	model.SettingDocumentsRoot:         {kind: kindString, def: `""`, help: "folder below the document store's base that holds the customer folders", check: checkDocumentsRoot},
	model.SettingDocumentsBlocked:      {kind: kindFileTypes, help: "attachments of these types (.exe, or a name such as desktop.ini) are filed renamed to …" + documents.BlockedSuffix},
	"alert_recipients":                 {kind: kindAddresses, def: `[]`, help: "operators who receive alert e-mails"},
	"alert_language":                   {kind: kindString, def: `"de"`, help: "language of alert e-mails: de or en", check: oneOf("de", "en")},
}

// DefaultSettings returns every setting's default as (key, JSON value) pairs,
// sorted by key.
func DefaultSettings() [][2]string {
	var out [][2]string
	for _, key := range SettingKeys() {
		out = append(out, [2]string{key, defaultSetting(key)})
	}
	return out
}

// freeMailJSON is the free-mail list as a stored value, built once.
var freeMailJSON = sync.OnceValue(func() string {
	b, _ := json.Marshal(strings.Fields(freeMailDomains))
	return string(b)
})

// blockedJSON is documents.DefaultBlocked as a stored value, built once.
var blockedJSON = sync.OnceValue(func() string {
	b, _ := json.Marshal(documents.DefaultBlocked)
	return string(b)
})

func defaultSetting(key string) string {
	switch key {
	case model.SettingFullMatchDomains:
		return freeMailJSON()
	case model.SettingDocumentsBlocked:
		return blockedJSON()
	}
	return settingDefs[key].def
}

// SettingKeys lists the known setting keys, sorted.
func SettingKeys() []string {
	keys := make([]string, 0, len(settingDefs))
	for k := range settingDefs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SettingHelp describes a setting.
func SettingHelp(key string) string { return settingDefs[key].help }

// ParseSetting checks an operator's value for key and returns it as stored.
// Lists accept a JSON array or comma/space separated words.
func ParseSetting(key, value string) (string, error) {
	def, ok := settingDefs[key]
	if !ok {
		return "", fmt.Errorf("%w: unknown setting %q (known: %s)", ErrInvalid, key, strings.Join(SettingKeys(), ", "))
	}
	value = strings.TrimSpace(value)
	switch def.kind {
	case kindBool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %q is not true or false", ErrInvalid, key, value)
		}
		return strconv.FormatBool(b), nil
	case kindInt:
		n, err := strconv.Atoi(value)
		if err != nil || n < def.min || n > def.max {
			return "", fmt.Errorf("%w: %s: %q is not a whole number from %d to %d", ErrInvalid, key, value, def.min, def.max)
		}
		return strconv.Itoa(n), nil
	case kindString:
		var s string
		if json.Unmarshal([]byte(value), &s) != nil {
			s = value
		}
		if def.check != nil {
			if err := def.check(s); err != nil {
				return "", fmt.Errorf("%w: %s: %q: %w", ErrInvalid, key, s, err)
			}
		}
		b, _ := json.Marshal(s)
		return string(b), nil
	default:
		// A list may come as a JSON string of words (an import file's or
		// the API's "a.de, b.de").
		var words string
		if json.Unmarshal([]byte(value), &words) == nil {
			value = strings.TrimSpace(words)
		}
		return parseList(key, value, def.kind)
	}
}

// checkFolderTemplate validates documents_customer_folder when it is set, so
// that a typo fails at `settings set` (or the import, or the API) rather
// than in every filing job: not empty, only {number}, {name} and {id},
// balanced braces, at least one placeholder (else every customer shares
// one folder), "/" only between folder names (no "\", "..", leading or
// trailing "/").
func checkFolderTemplate(t string) error {
	switch {
	case strings.TrimSpace(t) == "":
		return errors.New(`must not be empty (the default is "{number}")`)
	case strings.Contains(t, "\\"):
		return errors.New(`"\" is not a folder separator; use "/" between folders`)
	case strings.HasPrefix(t, "/") || strings.HasSuffix(t, "/"):
		return errors.New(`must not start or end with "/" (it is relative to documents_root)`)
	}
	for _, seg := range strings.Split(t, "/") {
		switch strings.TrimSpace(seg) {
		case "":
			return errors.New(`an empty folder name between two "/"`)
		case ".", "..":
			return fmt.Errorf("the folder name %q is not allowed", seg)
		}
	}
	if err := documents.ValidateTemplate(t); err != nil {
		_, msg, _ := strings.Cut(err.Error(), ": ")
		_, msg, _ = strings.Cut(msg, ": ")
		return errors.New(msg)
	}
	if !strings.Contains(t, "{number}") && !strings.Contains(t, "{name}") && !strings.Contains(t, "{id}") {
		return errors.New("names no customer: use {number}, {name} or {id}")
	}
	return nil
}

// checkDocumentsRoot validates documents_root: a relative folder path.
func checkDocumentsRoot(r string) error {
	if strings.Contains(r, "\\") {
		return errors.New(`"\" is not a folder separator; use "/"`)
	}
	for _, seg := range strings.Split(r, "/") {
		if s := strings.TrimSpace(seg); s == "." || s == ".." {
			return fmt.Errorf("the folder name %q is not allowed", seg)
		}
	}
	return nil
}

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("not one of %s", strings.Join(values, ", "))
		}
		return nil
	}
}

func parseList(key, value string, kind settingKind) (string, error) {
	var items []string
	if strings.HasPrefix(value, "[") {
		if err := json.Unmarshal([]byte(value), &items); err != nil {
			return "", fmt.Errorf("%w: %s: not a JSON array of strings: %v", ErrInvalid, key, err)
		}
	} else {
		items = strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	}
	out := make([]string, 0, len(items))
	seen := make(map[string]bool)
	for _, it := range items {
		var norm string
		if kind == kindFileTypes {
			n, err := documents.NormalizeBlocked(it)
			if err != nil {
				return "", fmt.Errorf("%w: %s: %w", ErrInvalid, key, err)
			}
			norm = n
		} else if kind == kindAddresses {
			a, ok := address.Normalize(it)
			if !ok {
				return "", fmt.Errorf("%w: %s: %q is not an e-mail address", ErrInvalid, key, it)
			}
			norm = a
		} else {
			norm = address.NormalizeDomain(it)
			if norm == "" || strings.ContainsAny(norm, "@ /") {
				return "", fmt.Errorf("%w: %s: %q is not a domain", ErrInvalid, key, it)
			}
		}
		if !seen[norm] {
			seen[norm] = true
			out = append(out, norm)
		}
	}
	b, _ := json.Marshal(out)
	return string(b), nil
}

// Setting returns the stored value of key.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.GetContext(ctx, &v, s.q(`SELECT value FROM settings WHERE key = ?`), key)
	if errors.Is(err, sql.ErrNoRows) {
		if _, ok := settingDefs[key]; ok {
			return defaultSetting(key), nil
		}
		return "", fmt.Errorf("store: unknown setting %q (known: %s): %w", key, strings.Join(SettingKeys(), ", "), ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: setting %q: %w", key, err)
	}
	return v, nil
}

// SetSetting checks and stores a setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	stored, err := ParseSetting(key, value)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return s.putSetting(ctx, tx, key, stored) })
}

func (s *Store) putSetting(ctx context.Context, tx *sqlx.Tx, key, stored string) error {
	_, err := tx.ExecContext(ctx, s.q(`
		INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
		WHERE settings.value <> excluded.value`), key, stored, s.now())
	if err != nil {
		return fmt.Errorf("store: set setting %q: %w", key, err)
	}
	return nil
}

// AllSettings returns every stored setting by key.
func (s *Store) AllSettings(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryxContext(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("store: settings: %w", err)
	}
	defer rows.Close()
	out := make(map[string]string)
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("store: settings: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// Settings returns the typed settings the matcher and jobs use.
func (s *Store) Settings(ctx context.Context) (model.Settings, error) {
	all, err := s.AllSettings(ctx)
	if err != nil {
		return model.Settings{}, err
	}
	return DecodeSettings(all)
}

// DecodeSettings turns stored values into model.Settings; missing keys take
// their defaults.
func DecodeSettings(values map[string]string) (model.Settings, error) {
	get := func(key string) string {
		if v, ok := values[key]; ok {
			return v
		}
		return defaultSetting(key)
	}
	var st model.Settings
	for key, dst := range map[string]any{
		model.SettingIgnoredDomains:        &st.IgnoredDomains,
		model.SettingFullMatchDomains:      &st.FullMatchDomains,
		model.SettingOwnDomains:            &st.OwnDomains,
		model.SettingOpportunitiesModule:   &st.OpportunitiesModule,
		model.SettingBackfillDays:          &st.BackfillDays,
		model.SettingSkipInlineAttachments: &st.SkipInlineAttachments,
		model.SettingMaxAttachmentBytes:    &st.MaxAttachmentBytes,
		model.SettingDocumentsFolder:       &st.DocumentsCustomerFolder,
		model.SettingDocumentsRoot:         &st.DocumentsRoot,
		model.SettingDocumentsBlocked:      &st.DocumentsBlocked,
	} {
		if err := json.Unmarshal([]byte(get(key)), dst); err != nil {
			return model.Settings{}, fmt.Errorf("store: setting %s has a malformed value: %w", key, err)
		}
	}
	return st, nil
}
