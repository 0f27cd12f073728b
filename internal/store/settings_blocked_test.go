package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// documents_blocked_extensions defaults to the safe list, takes extensions
// and names in any spelling, and refuses what is neither.
func TestBlockedExtensionsSetting(t *testing.T) {
	st, err := store.DecodeSettings(nil)
	if err != nil || !slices.Equal(st.DocumentsBlocked, documents.DefaultBlocked) {
		t.Fatalf("default documents_blocked_extensions = %v, %v", st.DocumentsBlocked, err)
	}
	for _, bad := range []string{`["a b"]`, `["x/y"]`, "exe.", `["\u202Eexe"]`} {
		if v, err := store.ParseSetting("documents_blocked_extensions", bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ParseSetting(%q) = %s, %v; want ErrInvalid", bad, v, err)
		}
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.SetSetting(ctx, "documents_blocked_extensions", "EXE, *.lnk desktop.INI .exe"); err != nil {
			t.Fatal(err)
		}
		st, err := s.Settings(ctx)
		if want := []string{".exe", ".lnk", "desktop.ini"}; err != nil || !slices.Equal(st.DocumentsBlocked, want) {
			t.Errorf("documents_blocked_extensions = %v, %v; want %v", st.DocumentsBlocked, err, want)
		}
		if err := s.SetSetting(ctx, "documents_blocked_extensions", "[]"); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.Settings(ctx); st.DocumentsBlocked == nil || len(st.DocumentsBlocked) != 0 {
			t.Errorf("an empty list must stay empty, not fall back to the default: %v", st.DocumentsBlocked)
		}
	})
}
