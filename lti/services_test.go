package lti_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern/internal/ltiplatform"
	"github.com/lectern/lectern/lti"
)

func newServices(t *testing.T, p *ltiplatform.Platform, ring []*lti.Key) *lti.Services {
	t.Helper()
	return &lti.Services{
		TokenURL: p.TokenURL(), ClientID: p.ClientID, Now: time.Now,
		Key: func(context.Context) (*lti.Key, error) { return lti.Current(ring), nil },
	}
}

// TestRosterPages reads a roster of 7 in pages of 3, following the
// Link headers, with a token the platform granted for the NRPS scope.
func TestRosterPages(t *testing.T) {
	key, err := lti.NewKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ring := []*lti.Key{key}
	p := newPlatform(t, &ring)
	var members []ltiplatform.Member
	var want []string
	for i := range 7 {
		sub := fmt.Sprintf("s%d", i+10)
		p.AddUser(ltiplatform.User{Sub: sub, Name: "Student " + sub})
		members = append(members, ltiplatform.Member{Sub: sub, Roles: []string{ltiplatform.RoleLearner}})
		want = append(want, sub)
	}
	p.SetMembers("c1", members)
	p.SetPageSize(3)
	svc := newServices(t, p, ring)
	got, err := svc.Roster(context.Background(), p.URL+"/nrps/c1")
	if err != nil {
		t.Fatalf("Roster: %v", err)
	}
	var subs []string
	for _, m := range got {
		subs = append(subs, m.UserID)
	}
	sort.Strings(subs)
	if diff := cmp.Diff(want, subs); diff != "" {
		t.Errorf("roster (-want +got):\n%s", diff)
	}
}

// TestPostScore posts a score with a client-credentials token; the token
// is reused for the second score, and a platform that is down answers
// with a temporary error.
func TestPostScore(t *testing.T) {
	key, _ := lti.NewKey(time.Now())
	ring := []*lti.Key{key}
	p := newPlatform(t, &ring)
	svc := newServices(t, p, ring)
	li := p.Links("c1")[0].LineItem
	sc := lti.Score{UserID: "s1", ScoreGiven: 0.92, ScoreMaximum: 1, Timestamp: time.Now(),
		ActivityProgress: lti.ActivityCompleted, GradingProgress: lti.GradingFullyGraded}
	ctx := context.Background()
	if err := svc.PostScore(ctx, p.LineItemURL(li), sc); err != nil {
		t.Fatalf("PostScore: %v", err)
	}
	p.FailScores(1)
	err := svc.PostScore(ctx, p.LineItemURL(li), sc)
	var se *lti.ServiceError
	if !errors.As(err, &se) || se.Status != http.StatusServiceUnavailable || !se.Temporary() {
		t.Fatalf("platform down: %v, want a temporary 503", err)
	}
	got := p.Scores()
	if len(got) != 1 || got[0].UserID != "s1" || got[0].ScoreGiven != 0.92 || got[0].ActivityProgress != lti.ActivityCompleted {
		t.Errorf("scores received: %+v", got)
	}
	if _, err := lti.ScoresURL("ftp://x"); err == nil {
		t.Error("ScoresURL took a non-http URL")
	}
	if u, _ := lti.ScoresURL("https://lms.example/li/4?type=x"); u != "https://lms.example/li/4/scores?type=x" {
		t.Errorf("ScoresURL kept the query wrongly: %s", u)
	}
}

func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		roles []string
		want  lti.Role
	}{
		{[]string{"http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"}, lti.RoleLearner},
		{[]string{"http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"}, lti.RoleInstructor},
		{[]string{"http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"}, lti.RoleInstructor},
		{[]string{"Learner", "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"}, lti.RoleAdministrator},
		{[]string{"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Guest"}, lti.RoleNone},
		{nil, lti.RoleNone},
	} {
		if got := lti.Roles(tc.roles); got != tc.want {
			t.Errorf("Roles(%v) = %v, want %v", tc.roles, got, tc.want)
		}
	}
}
