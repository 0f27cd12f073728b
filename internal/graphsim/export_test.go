package graphsim

import (
	"net/http"
	"time"
)

// SetGraphHook installs a function run inside every Graph request while it
// holds its mailbox's concurrency slot (tests only).
func (s *Server) SetGraphHook(h func(*http.Request)) { s.graphHook.Store(&h) }

// FillSubscriptions gives the mailbox n more subscriptions of another app
// (tests only: the quota counts every application's).
func (s *Server) FillSubscriptions(mailbox string, n int) {
	u := s.user(mailbox)
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		id := newGUID()
		s.tenant.subs[id] = &subscription{ID: id, Resource: "/users/" + u.ID + "/messages", ChangeType: "created",
			Expiration: s.now().Add(time.Hour), userID: u.ID}
	}
}
