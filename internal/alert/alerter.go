package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dedesales/exchange-connector/internal/store"
)

// ErrNoRecipients: the alert_recipients setting is empty, so nothing can
// be sent. The alert stays unsent and goes out on a later Raise once
// recipients are set.
var ErrNoRecipients = errors.New("alert: no recipients (setting alert_recipients is empty)")

// Alert is a condition to report: its kind, the subject it concerns (Key:
// a credential, a mailbox, a task type), its level (e.g. "7d"; "" for kinds
// without levels) and the kind's data for the mail.
type Alert struct {
	Kind  string
	Key   string
	Level string
	Data  any
}

// Store is the part of internal/store the Alerter needs.
type Store interface {
	OpenAlert(ctx context.Context, kind, key, level, message string) (bool, error)
	ClaimAlert(ctx context.Context, kind, key, level string) (bool, error)
	MarkAlertSent(ctx context.Context, kind, key, level string) error
	MarkAlertFailed(ctx context.Context, kind, key, level string, cause error) error
	ResolveAlerts(ctx context.Context, kind, key string) ([]store.Alert, error)
	Setting(ctx context.Context, key string) (string, error)
}

// Sender delivers one plain-text mail; *Mailer is one.
type Sender interface {
	Send(ctx context.Context, to []string, subject, body string) error
}

// Alerter raises and clears alerts: one mail per condition and level, one
// recovery mail when it clears.
type Alerter struct {
	store  Store
	sender Sender
	log    *slog.Logger
}

// NewAlerter returns an Alerter; log nil means slog.Default().
func NewAlerter(st Store, sender Sender, log *slog.Logger) *Alerter {
	if log == nil {
		log = slog.Default()
	}
	return &Alerter{store: st, sender: sender, log: log}
}

// Raise reports that a condition holds. The first Raise of a condition at
// a level opens it and mails the alert_recipients in the alert_language;
// later ones send nothing, unless the mail has not gone out yet: then the
// Raise that claims the unsent alert sends it (that is the retry). A failed
// send returns an error and leaves the alert unsent with the reason for the
// status page. Call Raise on every check that finds the condition.
func (a *Alerter) Raise(ctx context.Context, al Alert) error {
	if err := checkData(al.Kind, al.Data); err != nil {
		return err
	}
	lang, to, err := a.audience(ctx)
	if err != nil {
		return err
	}
	subject, body, err := Render(lang, al)
	if err != nil {
		return err
	}
	isNew, err := a.store.OpenAlert(ctx, al.Kind, al.Key, al.Level, subject)
	if err != nil {
		return fmt.Errorf("alert: raise: %w", err)
	}
	if !isNew {
		claimed, err := a.store.ClaimAlert(ctx, al.Kind, al.Key, al.Level)
		if err != nil {
			return fmt.Errorf("alert: raise: %w", err)
		}
		if !claimed {
			return nil // sent already, or someone else is sending it
		}
	}
	log := a.log.With(slog.String("kind", al.Kind), slog.String("key", al.Key), slog.String("level", al.Level))
	if err := a.send(ctx, to, subject, body); err != nil {
		if ferr := a.store.MarkAlertFailed(context.WithoutCancel(ctx), al.Kind, al.Key, al.Level, err); ferr != nil {
			log.Error("alert: recording failed send", slog.Any("error", ferr))
		}
		log.Warn("alert not sent; retried on the next raise", slog.Any("error", err))
		return fmt.Errorf("alert: %s %s %s: %w", al.Kind, al.Key, al.Level, err)
	}
	if err := a.store.MarkAlertSent(context.WithoutCancel(ctx), al.Kind, al.Key, al.Level); err != nil {
		return fmt.Errorf("alert: raise: %w", err)
	}
	log.Info("alert sent", slog.Int("recipients", len(to)), slog.String("subject", subject))
	return nil
}

// Clear reports that a condition no longer holds: every level of it is
// resolved, and if any alert mail of it had been sent, one recovery mail
// goes out (one per condition, not per level). A recovery mail that fails
// is not retried (the condition is gone); the error is returned. Clearing
// a condition that is not open does nothing, so callers may Clear on every
// check that finds things well.
func (a *Alerter) Clear(ctx context.Context, kind, key string) error {
	resolved, err := a.store.ResolveAlerts(ctx, kind, key)
	if err != nil {
		return fmt.Errorf("alert: clear: %w", err)
	}
	if len(resolved) == 0 {
		return nil
	}
	first, last := resolved[0], resolved[len(resolved)-1]
	r := Recovery{Kind: kind, Key: key, Level: last.Level, Subject: last.Message, OpenedAt: first.OpenedAt}
	if last.ResolvedAt != nil {
		r.ResolvedAt = *last.ResolvedAt
	}
	lang, to, err := a.audience(ctx)
	if err != nil {
		return err
	}
	subject, body, err := RenderRecovery(lang, r)
	if err != nil {
		return err
	}
	log := a.log.With(slog.String("kind", kind), slog.String("key", key))
	if err := a.send(ctx, to, subject, body); err != nil {
		log.Warn("recovery mail not sent", slog.Any("error", err))
		return fmt.Errorf("alert: recovery %s %s: %w", kind, key, err)
	}
	log.Info("recovery mail sent", slog.Int("recipients", len(to)))
	return nil
}

func (a *Alerter) send(ctx context.Context, to []string, subject, body string) error {
	if len(to) == 0 {
		return ErrNoRecipients
	}
	return a.sender.Send(ctx, to, subject, body)
}

// audience reads the language and the recipients from the settings.
func (a *Alerter) audience(ctx context.Context) (lang string, to []string, err error) {
	rawLang, err := a.store.Setting(ctx, "alert_language")
	if err != nil {
		return "", nil, fmt.Errorf("alert: %w", err)
	}
	var l string
	if json.Unmarshal([]byte(rawLang), &l) != nil {
		l = rawLang
	}
	rawTo, err := a.store.Setting(ctx, "alert_recipients")
	if err != nil {
		return "", nil, fmt.Errorf("alert: %w", err)
	}
	if err := json.Unmarshal([]byte(rawTo), &to); err != nil {
		return "", nil, fmt.Errorf("alert: setting alert_recipients is malformed: %w", err)
	}
	return Language(l), to, nil
}

// OpenKeys returns the keys of the open alerts of a kind, so that a check
// over thousands of subjects clears only those with an alert (jobs'
// health check) instead of asking the store once per subject. It needs a
// store that lists open alerts (internal/store does); ok is false otherwise.
func (a *Alerter) OpenKeys(ctx context.Context, kind string) (keys map[string]bool, ok bool, err error) {
	l, ok := a.store.(interface {
		OpenAlerts(ctx context.Context) ([]store.Alert, error)
	})
	if !ok {
		return nil, false, nil
	}
	open, err := l.OpenAlerts(ctx)
	if err != nil {
		return nil, true, fmt.Errorf("alert: open keys: %w", err)
	}
	keys = map[string]bool{}
	for _, al := range open {
		if al.Kind == kind {
			keys[al.SubjectKey] = true
		}
	}
	return keys, true, nil
}
