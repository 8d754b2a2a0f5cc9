package server

// LTI 1.3: Lectern as a tool launched from schools' LMSs. The protocol
// lives in the lti package; these files store what it returns and serve
// what it builds: lti_admin.go (registrations, the values an LMS admin
// enters, key rotation), lti_login.go and lti_launch.go (OIDC login and
// launch), lti_deeplink.go, lti_roster.go and lti_grades.go (the LTI
// Advantage services). Routes are under /lti/ and /api/v1/admin/lti/.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/lti"
)

// ltiKeysTTL is how long a process trusts its copy of the key ring: a
// rotation made by another process is seen within it.
const ltiKeysTTL = 30 * time.Second

// ltiState is what the LTI routes share.
type ltiState struct {
	keySets *lti.KeySets
	client  *http.Client

	mu       sync.Mutex
	ring     []*lti.Key
	loadedAt time.Time
	services map[string]*lti.Services // by platform id
}

func newLTIState(clock func() time.Time) *ltiState {
	client := &http.Client{Timeout: 15 * time.Second}
	return &ltiState{keySets: lti.NewKeySets(client, clock), client: client, services: map[string]*lti.Services{}}
}

func (s *Server) registerLTIRoutes(e *echo.Echo, api *echo.Group) {
	e.GET("/lti/jwks", s.handleLTIJWKS)
	s.registerLTILaunchRoutes(e)
	s.registerLTIDeepLinkRoutes(e)
	s.registerLTIRosterRoutes(api)
	s.registerLTIAdminRoutes(e, api)
}

// ltiKeyRing returns Lectern's signing keys, making the first one when
// there is none.
func (s *Server) ltiKeyRing(ctx context.Context) ([]*lti.Key, error) {
	now := s.clock.Now()
	s.lti.mu.Lock()
	ring, fresh := s.lti.ring, now.Sub(s.lti.loadedAt) < ltiKeysTTL
	s.lti.mu.Unlock()
	if fresh && lti.Current(ring) != nil {
		return ring, nil
	}
	ring, err := s.loadLTIKeys(ctx)
	if err != nil {
		return nil, err
	}
	if lti.Current(ring) == nil {
		if err := s.addLTIKey(ctx, false); err != nil {
			return nil, err
		}
		if ring, err = s.loadLTIKeys(ctx); err != nil {
			return nil, err
		}
	}
	s.lti.mu.Lock()
	s.lti.ring, s.lti.loadedAt = ring, now
	s.lti.mu.Unlock()
	return ring, nil
}

// ltiSigningKey returns the current signing key.
func (s *Server) ltiSigningKey(ctx context.Context) (*lti.Key, error) {
	ring, err := s.ltiKeyRing(ctx)
	if err != nil {
		return nil, err
	}
	return lti.Current(ring), nil
}

func (s *Server) loadLTIKeys(ctx context.Context) ([]*lti.Key, error) {
	rows, err := s.db.FindLTIKeys(ctx)
	if err != nil {
		return nil, err
	}
	ring := make([]*lti.Key, 0, len(rows))
	for _, r := range rows {
		priv, err := lti.OpenPrivate(s.secret, r.SealedPrivate)
		if err != nil {
			return nil, fmt.Errorf("lti key %s: %w", r.ID, err)
		}
		ring = append(ring, &lti.Key{ID: r.ID, Private: priv, CreatedAt: r.CreatedAt, RetiredAt: r.RetiredAt})
	}
	return ring, nil
}

// addLTIKey makes a new key; with rotate it replaces the current one,
// which stays published for lti.KeyGrace.
func (s *Server) addLTIKey(ctx context.Context, rotate bool) error {
	now := s.clock.Now()
	k, err := lti.NewKey(now)
	if err != nil {
		return err
	}
	sealed, err := lti.SealPrivate(s.secret, k.Private)
	if err != nil {
		return err
	}
	row := &db.LTIKey{ID: k.ID, SealedPrivate: sealed, CreatedAt: now}
	if _, err := s.db.AddLTIKey(ctx, row, rotate, now.Add(-lti.KeyGrace)); err != nil {
		return err
	}
	s.lti.mu.Lock()
	s.lti.loadedAt = time.Time{}
	s.lti.mu.Unlock()
	return nil
}

// handleLTIJWKS publishes Lectern's public keys: the current one and
// those retired less than lti.KeyGrace ago.
//
// It reads the keys from the database on every request (platforms cache
// the set): a key another process made just now must be in it. It makes
// none: a GET changes nothing; the first key is made when Lectern first
// signs something, or by a rotation.
func (s *Server) handleLTIJWKS(c echo.Context) error {
	ring, err := s.loadLTIKeys(c.Request().Context())
	if err != nil {
		return err
	}
	body, err := json.Marshal(lti.JWKS(ring, s.clock.Now()))
	if err != nil {
		return fmt.Errorf("encode jwks: %w", err)
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
}

// ltiServices returns the service client of a platform, kept between
// calls so that its access tokens are reused until they expire.
func (s *Server) ltiServices(platformID, tokenURL, clientID string) *lti.Services {
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	svc := s.lti.services[platformID]
	if svc == nil || svc.TokenURL != tokenURL || svc.ClientID != clientID {
		svc = &lti.Services{Client: s.lti.client, TokenURL: tokenURL, ClientID: clientID,
			Key: s.ltiSigningKey, Now: s.clock.Now}
		s.lti.services[platformID] = svc
	}
	return svc
}

// currentKID is the id of the ring's current key.
func currentKID(ring []*lti.Key) string {
	if k := lti.Current(ring); k != nil {
		return k.ID
	}
	return ""
}
