// Package alert e-mails the operators when the connector needs a human:
// a client secret about to expire or expired, authentication failing, a
// mailbox outside the app's access scope, a subscription that cannot be
// created or renewed, tasks archived as dead, a mailbox silent for far
// longer than usual. Each mail says what happened, what it means for the
// CRM's users and exactly what to do; a recovery mail follows when the
// condition clears.
//
// No storms: the alerts table (internal/store) is the de-duplication state.
// A condition is a kind plus a subject key (a credential, a mailbox, a task
// type); it mails once per level (e.g. the 30, 14, 7, 3 and 1 day warnings
// of a secret) while it lasts, and again only after Clear resolved it and it
// came back.
//
// Callers raise on every periodic check while a condition holds, and clear
// when a check finds it gone. That is also how a mail that could not be sent
// is retried: its row stays unsent (with the SMTP error, for the status
// page), and the next Raise of the same condition and level claims it and
// sends again. A claim is a lease (store.AlertClaimLease), so several
// workers never send the same alert and a crashed sender is taken over.
//
// Templates are text/template files embedded from templates/{de,en}; the
// language is the alert_language setting, the recipients are
// alert_recipients. Mail goes out over SMTP with github.com/wneessen/go-mail.
package alert
