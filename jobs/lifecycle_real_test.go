package jobs

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/dedesales/exchange-connector/webhooks"
)

// Microsoft's lifecycle examples (webhooks/testdata/graph-real, verbatim
// from the Graph docs) from the intake through the lifecycle handler: each
// takes its documented action — missed: a delta sync; subscriptionRemoved:
// the subscription recreated, then a sync; reauthorizationRequired: the
// subscription reauthorized. Placeholders are replaced as the docs mean
// them (the subscription the connector holds, its tenant, its clientState).
func TestGraphRealLifecycleActions(t *testing.T) {
	const sub, tenant = "9a6f2c1e-4b7d-4e2a-8c3f-5d1e0b9a7c42", "84bd8158-6d4d-4958-8b9f-9d6445542f95"
	const template = "subscriptionRemoved or missed or reauthorizationRequired"
	for _, tc := range []struct {
		name, file string
		event      string // replaces the template's event text
		sub        string // the subscription the example names
		want       string // the event whose action is expected
	}{
		{"missed", "lifecycle-missed.json", "", sub, model.EventMissed},
		{"subscriptionRemoved", "lifecycle-subscriptionRemoved.json", "", sub, model.EventSubscriptionRemoved},
		{"reauthorizationRequired", "lifecycle-reauthorizationRequired.json", "", "e3898f08-5cd0-4a6a-80fc-6addbfb73b7b", model.EventReauthorizationRequired},
		{"template as missed", "lifecycle-generic-template-current.json", model.EventMissed, sub, model.EventMissed},
		{"template as subscriptionRemoved", "lifecycle-generic-template-current.json", model.EventSubscriptionRemoved, sub, model.EventSubscriptionRemoved},
		{"template as reauthorizationRequired", "lifecycle-generic-template-current.json", model.EventReauthorizationRequired, sub, model.EventReauthorizationRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := storetest.Open(t, store.SQLite)
			ctx := context.Background()
			g, q, keys := newScriptGraph(), &taskQueue{}, testKeys(t)
			h := newTestHandlers(t, s, Deps{Graph: g, Enqueuer: q, Keys: keys, PublicURL: "https://connector.example/"})
			// The example's subscription is the mailbox's current one, at Graph too.
			if err := s.SaveSubscription(ctx, 1, model.Subscription{ID: tc.sub, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			g.subs[tc.sub] = model.Subscription{ID: tc.sub}

			b, err := os.ReadFile("../webhooks/testdata/graph-real/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			cs := keys.Generate(1)
			repl := []string{"<subscription_guid>", sub, "<tenant_guid>", tenant, "<secretClientState>", cs, "{secret client state}", cs}
			if tc.event != "" {
				repl = append(repl, template, tc.event)
			}
			body := strings.NewReplacer(repl...).Replace(string(b))
			intake := &taskQueue{}
			postLifecycle(t, intake, keys, body)
			tasks := intake.take(queue.TypeLifecycle)
			if len(tasks) != 1 {
				t.Fatalf("%d lifecycle tasks from the intake, want 1", len(tasks))
			}
			if err := h.Lifecycle.ProcessTask(ctx, tasks[0]); err != nil {
				t.Fatal(err)
			}

			row, err := s.SubscriptionOf(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			syncs := syncReasons(t, q)
			switch tc.want {
			case model.EventMissed:
				if len(syncs) != 1 || syncs[0] != "missed" || g.count(opCreate) != 0 || g.count(opReauthorize) != 0 {
					t.Errorf("missed: syncs %q, %d creations, %d reauthorizations; want one missed sync", syncs, g.count(opCreate), g.count(opReauthorize))
				}
			case model.EventSubscriptionRemoved:
				if g.count(opCreate) != 1 || row.GraphID == tc.sub || len(syncs) != 1 || syncs[0] != "recreated" {
					t.Errorf("subscriptionRemoved: %d creations, current %s, syncs %q; want a new subscription and a sync", g.count(opCreate), row.GraphID, syncs)
				}
			case model.EventReauthorizationRequired:
				if g.count(opReauthorize) != 1 || g.count(opCreate) != 0 || row.GraphID != tc.sub || len(syncs) != 0 {
					t.Errorf("reauthorizationRequired: %d reauthorizations, %d creations, current %s, syncs %q; want it reauthorized",
						g.count(opReauthorize), g.count(opCreate), row.GraphID, syncs)
				}
			default:
				t.Fatalf("test case names no event: %q", tc.want)
			}
		})
	}
}

// postLifecycle POSTs body to the intake's lifecycle route; its tasks go to q.
func postLifecycle(t *testing.T, q *taskQueue, keys clientstate.Keys, body string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	wh, err := webhooks.New(webhooks.Deps{Enqueuer: q, Keys: keys, Metrics: metrics.New(reg), Gatherer: reg})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	wh.Register(e)
	req := httptest.NewRequest(http.MethodPost, webhooks.PathLifecycle, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("POST %s: %d %s", webhooks.PathLifecycle, rec.Code, rec.Body.String())
	}
}
