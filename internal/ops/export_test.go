package ops

// HoldLoginSlots takes every password-check slot, as that many slow logins
// would, and returns the function that gives them back.
func (h *Handler) HoldLoginSlots() (release func()) {
	n := cap(h.loginSlots)
	for range n {
		h.loginSlots <- struct{}{}
	}
	return func() {
		for range n {
			<-h.loginSlots
		}
	}
}
