package graphsim

import "net/http"

// SetGraphHook installs a function run inside every Graph request while it
// holds its mailbox's concurrency slot (tests only).
func (s *Server) SetGraphHook(h func(*http.Request)) { s.graphHook.Store(&h) }
