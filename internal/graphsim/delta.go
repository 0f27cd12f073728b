package graphsim

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Delta paging defaults: Graph's default page for message delta is 10
// (graph.md, Errata); odata.maxpagesize is capped at 1000.
//
// filteredDeltaCap: "Applying $filter in a delta query returns only up to
// 5,000 messages … If you don't include an $orderby expression, the return
// order isn't guaranteed" (MGD concepts/delta-query-messages.md, graph.md
// Errata). The first round of a filtered delta therefore holds an arbitrary
// 5,000 of the matching messages, in arbitrary order.
const (
	defaultDeltaPage = 10
	maxDeltaPage     = 1000
	filteredDeltaCap = 5000
)

// deltaParams are the options of the initial call, kept for the whole
// sequence of rounds (Graph encodes them into its tokens).
type deltaParams struct {
	userID, folderID string
	q                query
	since            time.Time // $filter=receivedDateTime ge|gt since
	strict           bool      // gt rather than ge
	top              int       // $top: the most items of the first round (0 = all)
	newestFirst      bool      // $orderby=receivedDateTime desc (the only order delta supports)
	until            time.Time // list only: receivedDateTime le|lt until
	untilStrict      bool      // lt rather than le
}

func (p *deltaParams) matches(m *message) bool {
	if !p.until.IsZero() && (m.received.After(p.until) || p.untilStrict && m.received.Equal(p.until)) {
		return false
	}
	if p.since.IsZero() {
		return true
	}
	if p.strict {
		return m.received.After(p.since)
	}
	return !m.received.Before(p.since)
}

// deltaRound is a round in progress: the items to page through.
type deltaRound struct {
	params    deltaParams
	items     []deltaItem
	watermark uint64 // the change counter when the round started
	pageSize  int
	issued    time.Time // when the round started (Faults.DeltaTokenTTLSeconds)
}

// deltaItem is a message of a round: its immutable and regular ID when the
// round started (a page shows the one its request asks for).
type deltaItem struct {
	id, restID string
	removed    bool
}

// deltaState is what a deltaLink stands for: changes after watermark.
type deltaState struct {
	params    deltaParams
	watermark uint64
	issued    time.Time // when the deltaLink was given out
}

var deltaFilterRE = regexp.MustCompile(`(?i)^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$`)

// handleDelta serves GET …/mailFolders/{id}/messages/delta.
func (s *Server) handleDelta(w http.ResponseWriter, r *http.Request) {
	u := s.user(r.PathValue("uid"))
	v := r.URL.Query()
	// Prefer: odata.maxpagesize sets the page size; $top caps the whole
	// round, it is no page size (graph.md, Errata).
	pageSize := maxPageSize(r)

	s.mu.Lock()
	f := u.folder(r.PathValue("fid"))
	if f == nil {
		s.mu.Unlock()
		s.notFound(w, r)
		return
	}
	var roundID string
	var pos int
	switch {
	case first(v, "$skiptoken") != "":
		id, p, _ := strings.Cut(first(v, "$skiptoken"), ".")
		roundID = id
		pos, _ = strconv.Atoi(p)
	case first(v, "$deltatoken") != "":
		st := s.tenant.states[first(v, "$deltatoken")]
		if st == nil || st.params.userID != u.ID || st.params.folderID != f.ID || s.expired(st.issued) {
			s.mu.Unlock()
			s.syncStateNotFound(w, r)
			return
		}
		roundID = s.tenant.startRound(f, st.params, st.watermark, pageSize)
	default:
		p := deltaParams{userID: u.ID, folderID: f.ID, q: parseQuery(v)}
		if flt := first(v, "$filter"); flt != "" {
			m := deltaFilterRE.FindStringSubmatch(flt)
			var err error
			if m != nil {
				p.since, err = time.Parse(time.RFC3339, m[2])
			}
			if m == nil || err != nil {
				s.mu.Unlock()
				s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
				return
			}
			p.strict = strings.EqualFold(m[1], "gt")
		}
		if top, err := strconv.Atoi(first(v, "$top")); err == nil && top > 0 {
			p.top = top
		}
		// "$orderby only supports receivedDateTime desc" (message-delta.md).
		switch ob := strings.ToLower(strings.Join(strings.Fields(first(v, "$orderby")), " ")); ob {
		case "":
		case "receiveddatetime desc":
			p.newestFirst = true
		default:
			s.mu.Unlock()
			s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidUrlQuery", "The $orderby of a message delta supports only receivedDateTime desc.")
			return
		}
		roundID = s.tenant.startRound(f, p, 0, pageSize)
	}
	rd := s.tenant.rounds[roundID]
	if rd != nil && rd.issued.IsZero() {
		rd.issued = s.now()
	}
	if rd == nil || rd.params.userID != u.ID || rd.params.folderID != f.ID || pos > len(rd.items) || s.expired(rd.issued) {
		s.mu.Unlock()
		s.syncStateNotFound(w, r)
		return
	}
	if pageSize == 0 {
		pageSize = rd.pageSize
	}
	end := min(pos+pageSize, len(rd.items))
	page := make([]any, 0, end-pos)
	// The ID format follows this request's Prefer header: "nextLink/deltaLink
	// work with both ID formats" (graph.md §2.1, outlook-immutable-id.md).
	q := rd.params.q.withPrefer(r)
	for _, it := range rd.items[pos:end] {
		m := s.tenant.messages[it.id]
		if it.removed || m == nil || m.folder != f {
			// Deleted or moved out of the folder; a move keeps the immutable ID
			// but not the regular one the item had here.
			id := it.restID
			if q.immutable {
				id = it.id
			}
			page = append(page, map[string]any{"@odata.type": "#microsoft.graph.message", "id": id, "@removed": map[string]any{"reason": "deleted"}})
			continue
		}
		out := m.render(q)
		out["@odata.type"] = "#microsoft.graph.message"
		page = append(page, out)
	}
	link := baseURL(r) + r.URL.Path + "?"
	out := map[string]any{"@odata.context": baseURL(r) + "/v1.0/$metadata#Collection(message)", "value": page}
	if end < len(rd.items) {
		out["@odata.nextLink"] = link + "$skiptoken=" + url.QueryEscape(roundID+"."+strconv.Itoa(end))
	} else {
		tok := randB64(24)
		s.tenant.states[tok] = &deltaState{params: rd.params, watermark: rd.watermark, issued: s.now()}
		delete(s.tenant.rounds, roundID)
		out["@odata.deltaLink"] = link + "$deltatoken=" + url.QueryEscape(tok)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// startRound collects the folder's messages changed after watermark (all
// when 0) and the removals since, and registers the round. Callers hold
// s.mu for writing.
func (t *tenant) startRound(f *folder, p deltaParams, watermark uint64, pageSize int) string {
	if pageSize <= 0 {
		pageSize = defaultDeltaPage
	}
	rd := &deltaRound{params: p, watermark: t.seq, pageSize: min(pageSize, maxDeltaPage)}
	msgs := make([]*message, 0, len(f.msgs))
	for _, m := range f.msgs {
		if m.seq > watermark && p.matches(m) {
			msgs = append(msgs, m)
		}
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].seq < msgs[j].seq })
	switch {
	case watermark == 0 && p.newestFirst:
		// Ordered: newest first, so a capped round is the newest 5,000.
		sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].received.After(msgs[j].received) })
		if !p.since.IsZero() {
			msgs = msgs[:min(len(msgs), filteredDeltaCap)]
		}
	case watermark == 0 && !p.since.IsZero():
		// A filtered first round without $orderby: an arbitrary 5,000, unordered.
		rand.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
		msgs = msgs[:min(len(msgs), filteredDeltaCap)]
	}
	if watermark == 0 && p.top > 0 {
		msgs = msgs[:min(len(msgs), p.top)]
	}
	rd.items = make([]deltaItem, 0, len(msgs))
	if watermark > 0 {
		gone := map[string]int{} // moved out, in and out again: one @removed, with the last regular ID
		for _, ts := range f.tombstones {
			if ts.seq <= watermark || f.msgs[ts.id] != nil {
				continue
			}
			if i, ok := gone[ts.id]; ok {
				rd.items[i].restID = ts.restID
				continue
			}
			gone[ts.id] = len(rd.items)
			rd.items = append(rd.items, deltaItem{id: ts.id, restID: ts.restID, removed: true})
		}
	}
	for _, m := range msgs {
		rd.items = append(rd.items, deltaItem{id: m.ID, restID: m.restID})
	}
	id := randB64(18)
	t.rounds[id] = rd
	return id
}

// expired reports whether delta state issued at issued has outlived
// Faults.DeltaTokenTTLSeconds on the simulator's clock.
func (s *Server) expired(issued time.Time) bool {
	ttl := s.faults.Load().DeltaTokenTTLSeconds
	return ttl > 0 && s.now().Sub(issued) > time.Duration(ttl)*time.Second
}

func (s *Server) syncStateNotFound(w http.ResponseWriter, r *http.Request) {
	s.graphError(w, r, http.StatusGone, "SyncStateNotFound", "The sync state generation is not found. Resync is required.")
}

// ExpireDeltaTokens invalidates every delta and skip token (of one mailbox
// when mailbox is not empty), so the next round answers 410.
func (s *Server) ExpireDeltaTokens(mailbox string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var uid string
	if mailbox != "" {
		u := s.tenant.lookupUser(mailbox)
		if u == nil {
			return 0
		}
		uid = u.ID
	}
	n := 0
	for k, st := range s.tenant.states {
		if uid == "" || st.params.userID == uid {
			delete(s.tenant.states, k)
			n++
		}
	}
	for k, rd := range s.tenant.rounds {
		if uid == "" || rd.params.userID == uid {
			delete(s.tenant.rounds, k)
			n++
		}
	}
	return n
}
