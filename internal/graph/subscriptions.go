package graph

import (
	"context"
	"time"

	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/dedesales/exchange-connector/internal/model"
)

// CreateSubscription subscribes to a resource. Graph validates both URLs
// with the handshake before it answers.
func (c *Client) CreateSubscription(ctx context.Context, s model.Subscription) (model.Subscription, error) {
	body := models.NewSubscription()
	changeType := s.ChangeType
	if changeType == "" {
		changeType = "created"
	}
	exp := s.ExpiresAt.UTC()
	body.SetChangeType(&changeType)
	body.SetResource(&s.Resource)
	body.SetNotificationUrl(&s.NotificationURL)
	body.SetLifecycleNotificationUrl(&s.LifecycleNotificationURL)
	body.SetClientState(&s.ClientState)
	body.SetExpirationDateTime(&exp)
	created, err := c.subscriptions().Post(ctx, body, nil)
	if err != nil {
		return model.Subscription{}, wrap("create subscription", err)
	}
	return toSubscription(created), nil
}

// RenewSubscription moves a subscription's expiry.
func (c *Client) RenewSubscription(ctx context.Context, id string, expires time.Time) (model.Subscription, error) {
	body := models.NewSubscription()
	exp := expires.UTC()
	body.SetExpirationDateTime(&exp)
	s, err := c.subscriptions().BySubscriptionId(id).Patch(ctx, body, nil)
	if err != nil {
		return model.Subscription{}, wrap("renew subscription", err)
	}
	return toSubscription(s), nil
}

// ReauthorizeSubscription answers a reauthorizationRequired lifecycle event.
func (c *Client) ReauthorizeSubscription(ctx context.Context, id string) error {
	return wrap("reauthorize subscription", c.subscriptions().BySubscriptionId(id).Reauthorize().Post(ctx, nil))
}

// DeleteSubscription removes a subscription.
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	return wrap("delete subscription", c.subscriptions().BySubscriptionId(id).Delete(ctx, nil))
}

// Subscriptions lists the app's subscriptions.
func (c *Client) Subscriptions(ctx context.Context) ([]model.Subscription, error) {
	const op = "list subscriptions"
	res, err := c.subscriptions().Get(ctx, nil)
	if err != nil {
		return nil, wrap(op, err)
	}
	it, err := core.NewPageIterator[models.Subscriptionable](res, c.adapter, models.CreateSubscriptionCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []model.Subscription
	err = it.Iterate(ctx, func(s models.Subscriptionable) bool {
		out = append(out, toSubscription(s))
		return true
	})
	return out, wrap(op, err)
}

func toSubscription(s models.Subscriptionable) model.Subscription {
	out := model.Subscription{
		ID: deref(s.GetId()), Resource: deref(s.GetResource()), ChangeType: deref(s.GetChangeType()),
		NotificationURL: deref(s.GetNotificationUrl()), LifecycleNotificationURL: deref(s.GetLifecycleNotificationUrl()),
		ClientState: deref(s.GetClientState()),
	}
	if t := s.GetExpirationDateTime(); t != nil {
		out.ExpiresAt = t.UTC()
	}
	return out
}
