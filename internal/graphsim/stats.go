package graphsim

import (
	"sync"
	"sync/atomic"
)

// stats counts requests.
type stats struct {
	graphRequests atomic.Int64
	mu            sync.Mutex
	byStatus      map[int]int64
}

func (st *stats) countStatus(code int) {
	st.mu.Lock()
	st.byStatus[code]++
	st.mu.Unlock()
}

func (st *stats) statusCounts() map[int]int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[int]int64, len(st.byStatus))
	for k, v := range st.byStatus {
		out[k] = v
	}
	return out
}
