package graphsim

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// State is the answer of GET /_sim/state.
type State struct {
	Now           time.Time           `json:"now"`
	TenantID      string              `json:"tenantId"`
	ClientID      string              `json:"clientId"`
	Users         []UserState         `json:"users"`
	Subscriptions []SubscriptionState `json:"subscriptions"`
	Notifications NotifyStats         `json:"notifications"`
	Requests      RequestStats        `json:"requests"`
	Secrets       []SecretInfo        `json:"secrets"`
	Faults        Faults              `json:"faults"`
}

// UserState is a mailbox in the state.
type UserState struct {
	ID                string        `json:"id"`
	DisplayName       string        `json:"displayName"`
	Mail              string        `json:"mail"`
	UserPrincipalName string        `json:"userPrincipalName"`
	MessageCount      int           `json:"messageCount"`
	Folders           []FolderState `json:"folders"`
}

// FolderState is a folder in the state; Path is the display-name path
// below msgfolderroot ("Inbox/Kunden").
type FolderState struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	WellKnownName  string `json:"wellKnownName,omitempty"`
	ParentFolderID string `json:"parentFolderId"`
	Path           string `json:"path"`
	IsHidden       bool   `json:"isHidden"`
	TotalItemCount int    `json:"totalItemCount"`
}

// SubscriptionState is a subscription in the state with its delivery
// counters.
type SubscriptionState struct {
	ID                       string      `json:"id"`
	Mailbox                  string      `json:"mailbox"`
	Resource                 string      `json:"resource"`
	ChangeType               string      `json:"changeType"`
	NotificationURL          string      `json:"notificationUrl"`
	LifecycleNotificationURL string      `json:"lifecycleNotificationUrl"`
	ExpirationDateTime       time.Time   `json:"expirationDateTime"`
	Notifications            NotifyStats `json:"notifications"`
}

// RequestStats count requests: Graph requests seen and all responses by
// status code.
type RequestStats struct {
	Graph    int64            `json:"graph"`
	ByStatus map[string]int64 `json:"byStatus"`
}

// State snapshots the simulator.
func (s *Server) State() State {
	s.sweepSubscriptions()
	st := State{Now: s.now(), TenantID: s.opts.TenantID, ClientID: s.opts.ClientID,
		Notifications: s.NotifyStats(), Secrets: s.secretInfos(), Faults: s.CurrentFaults()}
	st.Requests.Graph = s.stats.graphRequests.Load()
	st.Requests.ByStatus = map[string]int64{}
	for code, n := range s.stats.statusCounts() {
		st.Requests.ByStatus[strconv.Itoa(code)] = n
	}
	s.mu.RLock()
	for _, u := range s.tenant.sortedUsers() {
		us := UserState{ID: u.ID, DisplayName: u.DisplayName, Mail: u.Mail, UserPrincipalName: u.UPN}
		for _, f := range u.folders {
			us.MessageCount += len(f.msgs)
			var names []string
			for _, p := range u.path(f) {
				if p.WellKnown != "msgfolderroot" && p.ParentID != "" && u.folders[p.ParentID] != nil {
					names = append(names, p.DisplayName)
				}
			}
			us.Folders = append(us.Folders, FolderState{ID: f.ID, DisplayName: f.DisplayName, WellKnownName: f.WellKnown,
				ParentFolderID: f.ParentID, Path: strings.Join(names, "/"), IsHidden: f.Hidden, TotalItemCount: len(f.msgs)})
		}
		sort.Slice(us.Folders, func(i, j int) bool { return us.Folders[i].Path < us.Folders[j].Path })
		st.Users = append(st.Users, us)
	}
	subs := make([]SubscriptionState, 0, len(s.tenant.subs))
	for _, sub := range s.tenant.subs {
		subs = append(subs, SubscriptionState{ID: sub.ID, Mailbox: sub.userID, Resource: sub.Resource, ChangeType: sub.ChangeType,
			NotificationURL: sub.NotificationURL, LifecycleNotificationURL: sub.LifecycleURL, ExpirationDateTime: sub.Expiration})
	}
	s.mu.RUnlock()
	for i := range subs {
		subs[i].Notifications = s.notify.counters(subs[i].ID).snapshot()
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].ID < subs[j].ID })
	st.Subscriptions = subs
	return st
}

// Stats is the answer of GET /_sim/stats: State's counters without the
// tenant (which is tens of megabytes with thousands of users).
type Stats struct {
	Now           time.Time    `json:"now"`
	Users         int          `json:"users"`
	Subscriptions int          `json:"subscriptions"`
	Notifications NotifyStats  `json:"notifications"`
	Requests      RequestStats `json:"requests"`
}

// Stats snapshots the simulator's counters.
func (s *Server) Stats() Stats {
	st := Stats{Now: s.now(), Notifications: s.NotifyStats()}
	st.Requests.Graph = s.stats.graphRequests.Load()
	st.Requests.ByStatus = map[string]int64{}
	for code, n := range s.stats.statusCounts() {
		st.Requests.ByStatus[strconv.Itoa(code)] = n
	}
	s.mu.RLock()
	st.Users, st.Subscriptions = len(s.tenant.users), len(s.tenant.subs)
	s.mu.RUnlock()
	return st
}
