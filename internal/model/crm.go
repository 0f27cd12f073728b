// Package model holds the plain data types shared by the store, the matcher,
// the jobs and the CLI: the CRM records the connector reads and the Graph
// message fields the matcher needs. It has no behaviour beyond small helpers.
package model

import "time"

// Employee is a CRM user. Only employees with ExchangeMailbox set are synced.
type Employee struct {
	ID              int64   `db:"id" json:"id"`
	Name            string  `db:"name" json:"name"`
	Email           string  `db:"email" json:"email"`
	ExchangeMailbox *string `db:"exchange_mailbox" json:"exchange_mailbox"`
	Active          bool    `db:"active" json:"active"`
}

// Customer is a debtor. The domain of Email is the customer's domain;
// Domains lists further domains (table customer_domains).
type Customer struct {
	ID      int64    `db:"id" json:"id"`
	Number  string   `db:"number" json:"number"`
	Name    string   `db:"name" json:"name"`
	Email   string   `db:"email" json:"email"`
	Domains []string `db:"-" json:"domains,omitempty"`
}

// Contact is a person at a customer (Ansprechpartner).
type Contact struct {
	ID         int64  `db:"id" json:"id"`
	CustomerID int64  `db:"customer_id" json:"customer_id"`
	Name       string `db:"name" json:"name"`
	Email      string `db:"email" json:"email"`
}

// Lead statuses.
const (
	LeadInProgress = "in_progress"
	LeadDeferred   = "deferred"
	LeadWon        = "won"
	LeadLost       = "lost"
	LeadCancelled  = "cancelled"
)

// Lead is a sales lead of a customer.
type Lead struct {
	ID         int64     `db:"id" json:"id"`
	CustomerID int64     `db:"customer_id" json:"customer_id"`
	Title      string    `db:"title" json:"title"`
	Status     string    `db:"status" json:"status"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
}

// Opportunity statuses (Chancen).
const (
	OpportunityInProgress = "in_progress"
	OpportunityWon        = "won"
	OpportunityLost       = "lost"
	OpportunityCancelled  = "cancelled"
)

// Opportunity is a sales opportunity of a customer.
type Opportunity struct {
	ID         int64     `db:"id" json:"id"`
	CustomerID int64     `db:"customer_id" json:"customer_id"`
	Title      string    `db:"title" json:"title"`
	Status     string    `db:"status" json:"status"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
}

// ValidLeadStatus reports whether s is a lead status the CRM knows.
func ValidLeadStatus(s string) bool {
	switch s {
	case LeadInProgress, LeadDeferred, LeadWon, LeadLost, LeadCancelled:
		return true
	}
	return false
}

// ValidOpportunityStatus reports whether s is an opportunity status the CRM knows.
func ValidOpportunityStatus(s string) bool {
	switch s {
	case OpportunityInProgress, OpportunityWon, OpportunityLost, OpportunityCancelled:
		return true
	}
	return false
}
