package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

func TestResealCredential(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		id, err := s.AddCredential(ctx, store.Credential{TenantID: "t", ClientID: "c", SecretSealed: "v1:old:x", SecretHint: "abc"}, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ResealCredential(ctx, id, "v1:new:y"); err != nil {
			t.Fatal(err)
		}
		creds, err := s.ActiveCredentials(ctx)
		if err != nil || len(creds) != 1 || creds[0].SecretSealed != "v1:new:y" || creds[0].SecretHint != "abc" {
			t.Fatalf("after reseal: %+v, %v", creds, err)
		}
		if err := s.ResealCredential(ctx, id+1, "v1:new:z"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown credential: %v, want ErrNotFound", err)
		}
	})
}
