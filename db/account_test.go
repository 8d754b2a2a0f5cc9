package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

func TestConfirmEmailChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		u := newUser(t, d, lectern.RoleStudent)
		other := newUser(t, d, lectern.RoleStudent)
		link := func(email string) string {
			ut := &lectern.UserToken{TokenHash: testenv.Name("hash"), UserID: u.ID, Purpose: lectern.TokenEmailChange,
				Email: email, ExpiresAt: clock.Peek().Add(time.Hour)}
			if err := d.CreateUserToken(ctx, ut); err != nil {
				t.Fatal(err)
			}
			return ut.TokenHash
		}
		notice := func() *lectern.OutgoingMail {
			return &lectern.OutgoingMail{Kind: lectern.MailEmailChanged, ExpiresAt: clock.Peek().Add(time.Hour)}
		}
		// An address another account has is refused, and nothing changes.
		taken := link(other.Email)
		if _, err := d.ConfirmEmailChange(ctx, taken, notice()); lectern.ErrorCode(err) != lectern.ECONFLICT {
			t.Fatalf("taken address: %v, want conflict", err)
		}
		newAddr := testenv.Name("new") + "@example.org"
		h := link(newAddr)
		got, err := d.ConfirmEmailChange(ctx, h, notice())
		if err != nil || got.Email != newAddr {
			t.Fatalf("ConfirmEmailChange = %+v, %v", got, err)
		}
		queued, err := d.FindQueuedMail(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range queued {
			found = found || (m.Kind == lectern.MailEmailChanged && m.To == u.Email && m.UserID != nil && *m.UserID == u.ID)
		}
		if !found {
			t.Errorf("no notice queued to the old address %s: %+v", u.Email, queued)
		}
		// Used, and the other link of the user ended with it.
		for _, spent := range []string{h, taken} {
			if _, err := d.ConfirmEmailChange(ctx, spent, notice()); lectern.ErrorCode(err) != lectern.ENOTFOUND {
				t.Errorf("spent link: %v, want not found", err)
			}
		}
		// Expired.
		late := link("late-" + newAddr)
		clock.Advance(2 * time.Hour)
		if _, err := d.ConfirmEmailChange(ctx, late, notice()); lectern.ErrorCode(err) != lectern.ENOTFOUND {
			t.Errorf("expired link: %v, want not found", err)
		}
	})
}

func TestMailOptOutsAndSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		u := newUser(t, d, lectern.RoleStudent)
		for range 2 { // twice: no error
			if err := d.SetMailOptOut(ctx, u.ID, lectern.MailQuestionDigest, true); err != nil {
				t.Fatal(err)
			}
		}
		if off, err := d.MailOptedOut(ctx, u.ID, lectern.MailQuestionDigest); err != nil || !off {
			t.Errorf("opted out = %v, %v", off, err)
		}
		if err := d.SetMailOptOut(ctx, "no-such-user", lectern.MailQuestionDigest, true); err != nil {
			t.Errorf("a deleted user's unsubscribe: %v", err)
		}
		if err := d.SetMailOptOut(ctx, u.ID, lectern.MailQuestionDigest, false); err != nil {
			t.Fatal(err)
		}
		if kinds, err := d.FindMailOptOuts(ctx, u.ID); err != nil || len(kinds) != 0 {
			t.Errorf("opt-outs after turning back on: %v, %v", kinds, err)
		}

		var hashes []string
		for range 3 {
			s := &lectern.Session{TokenHash: testenv.Name("hash"), UserID: u.ID, ExpiresAt: clock.Peek().Add(time.Hour)}
			if err := d.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, s.TokenHash)
		}
		other := newUser(t, d, lectern.RoleStudent)
		sessions, err := d.FindSessions(ctx, u.ID)
		if err != nil || len(sessions) != 3 {
			t.Fatalf("FindSessions = %d, %v", len(sessions), err)
		}
		if _, err := d.EndSession(ctx, other.ID, sessions[0].ID); lectern.ErrorCode(err) != lectern.ENOTFOUND {
			t.Errorf("ending another user's session: %v, want not found", err)
		}
		if h, err := d.EndSession(ctx, u.ID, sessions[0].ID); err != nil || h != sessions[0].TokenHash {
			t.Errorf("EndSession = %q, %v", h, err)
		}
		keep := hashes[0]
		if keep == sessions[0].TokenHash {
			keep = hashes[1]
		}
		ended, err := d.EndOtherSessions(ctx, u.ID, keep)
		if err != nil || len(ended) != 1 {
			t.Errorf("EndOtherSessions = %v, %v; want one", ended, err)
		}
		if left, _ := d.FindSessions(ctx, u.ID); len(left) != 1 || left[0].TokenHash != keep {
			t.Errorf("left: %+v", left)
		}
	})
}
