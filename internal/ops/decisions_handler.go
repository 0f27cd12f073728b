package ops

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/explain"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
)

// Decision list limits.
const (
	decisionsPerPage = 25
	maxDecisionPage  = 400 // 10,000 decisions back; search to go further
	maxQueryLen      = 500
)

// outcomes are the outcome filters offered.
var outcomes = []string{match.OutcomeImported, match.OutcomeDuplicate, match.OutcomeIgnored}

// decisionList is a page of decisions with the search that found them.
type decisionList struct {
	Query    string
	Outcome  string
	Outcomes []string
	Hits     []decisionHit
	Page     int
	// Window is how many of the newest decisions a text search reads.
	Window  int
	PrevURL string
	NextURL string
}

// decisionHit is a decision with what `connector explain` prints about it.
type decisionHit struct {
	store.DecisionHit
	Explain string
}

// decisionsPage is the data of decisions.html.
type decisionsPage struct {
	page
	Decisions decisionList
}

// decisionPage is the data of decision.html.
type decisionPage struct {
	page
	Decision decisionHit
	// Others are the decisions about the same e-mail in other mailboxes.
	Others []decisionHit
}

// decisions lists decisions, newest first, optionally searched.
func (h *Handler) decisions(c echo.Context) error {
	list, err := h.decisionList(c, decisionsPerPage)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "decisions.html", decisionsPage{page: sessionPage(c, "Decisions"), Decisions: list})
}

// decisionList runs the search in the request's q, outcome and page.
func (h *Handler) decisionList(c echo.Context, perPage int) (decisionList, error) {
	q := strings.TrimSpace(c.QueryParam("q"))
	if len(q) > maxQueryLen {
		q = q[:maxQueryLen]
	}
	outcome := c.QueryParam("outcome")
	valid := outcome == ""
	for _, o := range outcomes {
		valid = valid || o == outcome
	}
	if !valid {
		outcome = ""
	}
	pageNo, _ := strconv.Atoi(c.QueryParam("page"))
	pageNo = min(max(pageNo, 1), maxDecisionPage)
	hits, more, err := h.deps.Store.SearchDecisions(c.Request().Context(),
		store.DecisionQuery{Text: q, Outcome: outcome, Limit: perPage, Offset: (pageNo - 1) * perPage})
	if err != nil {
		return decisionList{}, fmt.Errorf("ops: decisions: %w", err)
	}
	list := decisionList{Query: q, Outcome: outcome, Outcomes: outcomes, Page: pageNo, Window: store.TextSearchWindow}
	for _, d := range hits {
		list.Hits = append(list.Hits, decisionHit{DecisionHit: d, Explain: explain.Decision(d.Decision)})
	}
	link := func(p int) string {
		v := url.Values{}
		if q != "" {
			v.Set("q", q)
		}
		if outcome != "" {
			v.Set("outcome", outcome)
		}
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if len(v) == 0 {
			return Prefix + "/decisions"
		}
		return Prefix + "/decisions?" + v.Encode()
	}
	if pageNo > 1 {
		list.PrevURL = link(pageNo - 1)
	}
	if more && pageNo < maxDecisionPage {
		list.NextURL = link(pageNo + 1)
	}
	return list, nil
}

// decision shows one decision as `connector explain` does, with the
// decisions about the same e-mail in other mailboxes.
func (h *Handler) decision(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return h.message(c, http.StatusNotFound, "No such decision", "Decision IDs are positive numbers.")
	}
	ctx := c.Request().Context()
	d, err := h.deps.Store.DecisionByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return h.message(c, http.StatusNotFound, "No such decision", fmt.Sprintf("There is no decision %d.", id))
	}
	if err != nil {
		return fmt.Errorf("ops: decision: %w", err)
	}
	data := decisionPage{page: sessionPage(c, "Decision "+strconv.FormatInt(id, 10)),
		Decision: decisionHit{DecisionHit: d, Explain: explain.Decision(d.Decision)}}
	if d.InternetMessageID != "" {
		same, err := h.deps.Store.DecisionsOfMessage(ctx, d.InternetMessageID, 50)
		if err != nil {
			return fmt.Errorf("ops: decision: %w", err)
		}
		for _, o := range same {
			if o.ID != d.ID && o.InternetMessageID == d.InternetMessageID {
				data.Others = append(data.Others, decisionHit{DecisionHit: o, Explain: explain.Decision(o.Decision)})
			}
		}
	}
	return h.render(c, http.StatusOK, "decision.html", data)
}
