// Package server is Lectern's HTTP front: the JSON API under /api/v1, the
// health endpoints, and (in later issues) media delivery and pages. It is
// an Echo application wrapped in cross-origin protection; handlers call
// the db package and never hold SQL.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/events"
)

// jsonBodyLimit caps the body of every JSON endpoint.
const jsonBodyLimit = "1M"

// minSecretLen is the shortest signing key New accepts.
const minSecretLen = 16

// Options are the server's dependencies and settings.
type Options struct {
	DB      *db.DB
	Storage lectern.Storage
	// Clock tells the time; nil means lectern.SystemClock{}.
	Clock lectern.Clock
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// PublicURL is where users reach the server, e.g.
	// "https://lectern.example.org". An https URL makes cookies Secure, and
	// its origin is trusted by the cross-origin protection even when a
	// proxy rewrites the Host header.
	PublicURL string
	// Secret is the signing key (at least 16 bytes).
	Secret []byte
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	// Empty means the direct peer address is the client address.
	TrustedProxies []netip.Prefix
	// MaxUploadBytes caps the size of an uploaded recording; zero means
	// DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// StorageQuota caps the bytes the lessons of each teacher's courses
	// take in storage (sources and outputs); zero means no limit
	// (quota.go).
	StorageQuota int64
	// Jobs puts the transcodes of uploads and retries on the queue and
	// takes canceled ones off it; nil leaves them to the start-up requeue
	// of unfinished jobs, and a running transcode to notice a cancel on
	// its next heartbeat.
	Jobs Jobs
	// StorageTimeout bounds each call a media request makes to storage:
	// a store that does not answer within it gets the request a 503;
	// zero means DefaultStorageTimeout.
	StorageTimeout time.Duration
	// MediaTokenTTL is how long a playback URL works; zero means
	// DefaultMediaTokenTTL.
	MediaTokenTTL time.Duration
	// MediaRedirect answers GET requests for segments, init segments and
	// images, once the token and its holder are checked, with a redirect
	// to a presigned URL on the bucket valid for MediaRedirectTTL, so that
	// the bytes do not pass through the API servers (media_redirect.go).
	// Storage must be able to presign (storage/s3); playlists and captions
	// are always served by Lectern.
	MediaRedirect bool
	// MediaRedirectTTL is how long a presigned URL works; zero means
	// DefaultMediaRedirectTTL.
	MediaRedirectTTL time.Duration
	// ReadyChecks are run by /readyz, by name (db, redis, storage…). When
	// empty, /readyz pings the database.
	ReadyChecks map[string]func(context.Context) error
	// DegradedChecks are run by /readyz too, but a failure leaves the
	// instance ready, its status "degraded": services the API works
	// without for a while (the queue's Redis: uploads are recorded and
	// queued once it is back).
	DegradedChecks map[string]func(context.Context) error
	// Events carries live updates (new and changed comments, ended
	// sessions) to the event streams of every API process: an
	// events.Redis shared by all replicas in the scaled setup. Nil means
	// an in-process bus, enough for a single process.
	Events events.Bus
	// Heartbeats tunes the group commit of progress heartbeats; the zero
	// value takes the defaults.
	Heartbeats HeartbeatBatching
	// Uploads says where partial resumable (tus) uploads are kept; the
	// zero value turns the tus endpoint off.
	Uploads UploadOptions
	// QueueUI is the queue's web UI (asynqmon built with RootPath
	// QueueUIPath), served to admins under QueueUIPath; nil turns it off.
	QueueUI http.Handler
	// Metrics receives the HTTP series and is served at /metrics; nil
	// turns metrics off.
	Metrics *prometheus.Registry
	// AccessLog receives one line per request (method, route, status,
	// bytes, duration, request ID); nil logs none.
	AccessLog *slog.Logger
	// Limits protect the server from one user, one address or one slow
	// client; the zero value takes the defaults.
	Limits Limits
	// OIDC turns on single sign-on with an OpenID Connect provider
	// (oidc.go); nil leaves it off.
	OIDC *OIDCOptions
	// LTIScoreInterval is how often scores queued for LMS gradebooks are
	// sent (lti_grades.go); zero means DefaultLTIScoreInterval, negative
	// turns the sender off (another process sends them).
	LTIScoreInterval time.Duration
	// Mailer sends mail (password resets, address confirmations); nil
	// means no mail is configured, and features that need it say so.
	// MailFrom is the sender's address, as "Name <addr>" or a bare
	// address; PublicURL is then required, for the links in mail.
	Mailer   lectern.Mailer
	MailFrom string
	// MailInterval is how often the outbox is looked at (mail.go); zero
	// means DefaultMailInterval, negative turns the sender off.
	MailInterval time.Duration
	// DigestHour is the hour (UTC, 0 to 23) at which teachers get their
	// daily digest of open questions (mail_digest.go); NoDigest turns
	// the digest off (another process may send it: the database keeps
	// it to one a day).
	DigestHour int
	NoDigest   bool
	// LTIRosterInterval is how often each linked LMS course's roster is
	// read again (lti_roster.go); zero means DefaultLTIRosterInterval,
	// negative turns the periodic sync off (teachers and admins still
	// sync on demand).
	LTIRosterInterval time.Duration
	// TrashRetention is how long a deleted course or lesson stays in the
	// trash, restorable, before the purge removes its media and data;
	// zero means lectern.DefaultTrashRetention (30 days).
	// TrashPurgeInterval is how often the purge looks (trash.go); zero
	// means DefaultTrashPurgeInterval, negative turns it off.
	TrashRetention     time.Duration
	TrashPurgeInterval time.Duration
}

// Server serves Lectern's HTTP API. It is safe for concurrent use.
type Server struct {
	db             *db.DB
	storage        lectern.Storage
	clock          lectern.Clock
	logger         *slog.Logger
	secret         []byte
	secureCookies  bool
	maxUploadBytes int64
	storageQuota   int64
	jobs           Jobs
	readyChecks    map[string]func(context.Context) error
	degradedChecks map[string]func(context.Context) error
	mediaKey       []byte
	// sso is single sign-on (oidc.go); nil when off.
	sso            *oidcSSO
	mediaTTL       time.Duration
	limits         Limits
	storageTimeout time.Duration
	// presign is the storage's URL signer when media is redirected,
	// else nil; presignTTL is how long its URLs work.
	presign    presigner
	presignTTL time.Duration
	// finished remembers outputs no plan is still encoding
	// (media_pending.go).
	finished *outputSet

	// dummyHash is checked against when a login names an unknown email, so
	// that such a login costs as much time as a wrong password.
	dummyHash string
	// logins throttles failed logins; hashes caps the password hashes
	// computed at once (login_throttle.go, password.go).
	logins *loginThrottle
	hashes *hashSlots

	// web holds the pages' templates and static files (pages.go).
	web *webApp
	// uploads is the tus endpoint (tus.go); nil when not configured.
	uploads *tusUploads
	// comments holds the event bus, posting limits and live streams of
	// the comment routes (comments.go, sse.go).
	comments *commentState

	// lti holds the LTI 1.3 routes' caches (lti.go); publicOrigin is
	// Options.PublicURL's origin, "" when not configured.
	lti          *ltiState
	publicOrigin string
	// scores is the LTI score sender, rosters the LTI roster sync (nil
	// when off).
	scores, rosters *loop
	// trashPurge removes what has been in the trash past trashKeep
	// (trash.go).
	trashPurge *loop
	trashKeep  time.Duration

	// mail is the outbox's sender (mail.go); resets throttle password
	// reset requests (password_reset.go).
	mail   *mailState
	resets *resetLimits
	// auth keeps credentials and media access answers in memory
	// (authcache.go); stopAuth ends its subscription to invalidations,
	// and authDone closes when it has.
	auth     *authCache
	stopAuth context.CancelFunc
	authDone <-chan struct{}

	// beats group-commits progress heartbeats (heartbeat.go).
	beats *beatBatcher
	// tokenUses records API token uses off the request path (auth.go).
	tokenUses *db.TokenUses

	// Operations (admin_jobs.go, admin_queues.go, metrics.go).
	queueUI    http.Handler
	metricsReg *prometheus.Registry
	metrics    *httpMetrics
	accessLog  *slog.Logger

	echo    *echo.Echo
	handler http.Handler
}

// New checks opts and builds a Server.
func New(opts Options) (*Server, error) {
	if opts.DB == nil {
		return nil, errors.New("server: Options.DB is nil")
	}
	if opts.Storage == nil {
		return nil, errors.New("server: Options.Storage is nil")
	}
	if len(opts.Secret) < minSecretLen {
		return nil, fmt.Errorf("server: Options.Secret must be at least %d bytes", minSecretLen)
	}
	origin, secure, err := parsePublicURL(opts.PublicURL)
	if err != nil {
		return nil, err
	}
	mediaTTL, err := mediaTokenTTL(opts.MediaTokenTTL)
	if err != nil {
		return nil, err
	}
	sso, err := newOIDCSSO(opts.OIDC)
	if err != nil {
		return nil, err
	}
	dummy, err := HashPassword(randomToken())
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{
		finished:       newOutputSet(),
		db:             opts.DB,
		storage:        opts.Storage,
		clock:          opts.Clock,
		logger:         opts.Logger,
		secret:         opts.Secret,
		secureCookies:  secure,
		maxUploadBytes: opts.MaxUploadBytes,
		storageQuota:   opts.StorageQuota,
		jobs:           opts.Jobs,
		readyChecks:    opts.ReadyChecks,
		degradedChecks: opts.DegradedChecks,
		mediaKey:       deriveMediaKey(opts.Secret),
		sso:            sso,
		mediaTTL:       mediaTTL,
		limits:         opts.Limits.withDefaults(),
		storageTimeout: opts.StorageTimeout,
		dummyHash:      dummy,
		logins:         newLoginThrottle(),
		resets:         newResetLimits(),
	}
	if s.mail, err = newMailState(opts); err != nil {
		return nil, err
	}
	if opts.MediaRedirect {
		p, ok := opts.Storage.(presigner)
		if !ok {
			return nil, errors.New("server: Options.MediaRedirect needs storage that can presign URLs (S3)")
		}
		s.presign, s.presignTTL = p, opts.MediaRedirectTTL
		if s.presignTTL <= 0 {
			s.presignTTL = DefaultMediaRedirectTTL
		}
	}
	s.hashes = newHashSlots(s.limits.PasswordHashes, s.limits.PasswordHashWait)
	if s.clock == nil {
		s.clock = lectern.SystemClock{}
	}
	s.lti, s.publicOrigin = newLTIState(s.clock.Now), origin
	if s.storageTimeout <= 0 {
		s.storageTimeout = DefaultStorageTimeout
	}
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.logger = slog.New(requestIDHandler{s.logger.Handler()})
	s.queueUI, s.metricsReg = opts.QueueUI, opts.Metrics
	if opts.AccessLog != nil {
		s.accessLog = slog.New(requestIDHandler{opts.AccessLog.Handler()})
	}
	if s.metricsReg != nil {
		if s.metrics, err = newHTTPMetrics(s.metricsReg); err != nil {
			return nil, fmt.Errorf("server: register metrics: %w", err)
		}
	}
	if len(s.readyChecks) == 0 {
		s.readyChecks = map[string]func(context.Context) error{"db": s.db.Ping}
	}
	if s.web, err = newWebApp(); err != nil {
		return nil, err
	}
	if s.uploads, err = s.newTusUploads(opts.Uploads); err != nil {
		return nil, err
	}
	s.beats = newBeatBatcher(s.db.RecordHeartbeats, opts.Heartbeats, s.db.Dialect())
	s.tokenUses = db.NewTokenUses(s.db, func(err error) {
		s.logger.Warn("record api token use", slog.Any("error", err))
	})
	s.comments = newCommentState(opts.Events, s.limits)
	s.auth = newAuthCache(s.clock.Now)
	authCtx, stopAuth := context.WithCancel(context.Background())
	s.stopAuth, s.authDone = stopAuth, s.auth.subscribe(authCtx, s.comments.bus, s.logger)
	if s.metricsReg != nil {
		if err := s.registerLimitMetrics(s.metricsReg); err != nil {
			return nil, fmt.Errorf("server: register metrics: %w", err)
		}
	}
	s.echo = s.newEcho(opts.TrustedProxies)
	s.handler, err = s.crossOriginProtection(origin, s.withUploads(s.echo))
	if err != nil {
		return nil, err
	}
	s.handler = s.withBodyDeadlines(s.instrument(s.handler))
	s.startLTIScores(opts.LTIScoreInterval)
	s.startMailSender(opts.MailInterval)
	s.startLTIRosters(opts.LTIRosterInterval)
	s.trashKeep = opts.TrashRetention
	s.startTrashPurge(opts.TrashPurgeInterval)
	return s, nil
}

// Handler returns the HTTP handler: the Echo app wrapped in cross-origin
// protection.
func (s *Server) Handler() http.Handler { return s.handler }

// Close finishes the server's work in progress once the HTTP server has
// stopped passing it requests: heartbeats waiting to be batched are
// committed and answered, and API token uses not yet written are written
// (for at most tokenUsesCloseTimeout). It does not close the database.
func (s *Server) Close() error {
	s.stopAuth()
	<-s.authDone
	// Live event streams end first (see EndStreams).
	s.comments.close()
	s.scores.stop()
	s.mail.sender.stop()
	s.rosters.stop()
	s.trashPurge.stop()
	s.beats.close()
	ctx, cancel := context.WithTimeout(context.Background(), tokenUsesCloseTimeout)
	defer cancel()
	if err := s.tokenUses.Close(ctx); err != nil {
		return fmt.Errorf("server: write api token uses: %w", err)
	}
	return nil
}

// tokenUsesCloseTimeout bounds how long Close waits to write the API
// token uses still pending; past it they are lost (last_used_at lags).
const tokenUsesCloseTimeout = 5 * time.Second

// parsePublicURL returns the origin of a non-empty public URL and whether
// it is https.
func parsePublicURL(raw string) (origin string, secure bool, err error) {
	if raw == "" {
		return "", false, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false, fmt.Errorf("server: Options.PublicURL %q is not an absolute http or https URL", raw)
	}
	return u.Scheme + "://" + u.Host, u.Scheme == "https", nil
}

func (s *Server) newEcho(trusted []netip.Prefix) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(trusted)
	e.Use(middleware.RequestID())
	e.Use(recordRoute)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(_ echo.Context, err error, stack []byte) error {
			return fmt.Errorf("panic: %w\n%s", err, stack)
		},
	}))
	// The limit applies to every route but the streaming uploads, which
	// the upload limit bounds instead, and caption uploads, which have
	// their own. It is not group middleware because Echo implements that
	// with a catch-all route, which turns 405s into 404s.
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: jsonBodyLimit,
		Skipper: func(c echo.Context) bool { return streamingRoute(c) || captionUploadRoute(c) }}))
	s.registerHealthRoutes(e)
	if s.metricsReg != nil {
		e.GET("/metrics", metricsHandler(s.metricsReg))
	}
	s.registerQueueUIRoutes(e)
	api := e.Group("/api/v1")
	s.registerAdminJobRoutes(api)
	s.registerSessionRoutes(api)
	s.registerPasswordResetRoutes(e, api)
	s.registerOIDCRoutes(e)
	s.registerAccountRoutes(e, api)
	s.registerMailPrefRoutes(e, api)
	s.registerTokenRoutes(api)
	s.registerUserRoutes(api)
	s.registerPeopleRoutes(e, api)
	s.registerCourseRoutes(api)
	s.registerLessonRoutes(api)
	s.registerTrashRoutes(api)
	s.registerOutlineRoutes(api)
	s.registerCaptionRoutes(api)
	s.registerChapterRoutes(api)
	s.registerPreferenceRoutes(api)
	s.registerCommentRoutes(api)
	s.registerQuestionRoutes(api)
	s.registerNotificationRoutes(api)
	s.registerSSERoutes(api)
	s.registerProgressRoutes(api)
	s.registerAnalyticsRoutes(api)
	s.registerSearchRoutes(api)
	s.registerLTIRoutes(e, api)
	s.registerPageRoutes(e)
	s.registerTokenPage(e)
	s.registerTrashPage(e)
	s.registerUploadRoutes(e)
	s.registerMediaRoutes(e)
	return e
}

// ipExtractor believes X-Forwarded-For only when it comes from one of the
// trusted proxies. Echo trusts loopback, link-local and private addresses
// by default; that is turned off so that only the configured ranges count.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{
		echo.TrustLoopback(false),
		echo.TrustLinkLocal(false),
		echo.TrustPrivateNet(false),
	}
	for _, p := range trusted {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{
			IP:   net.IP(p.Addr().AsSlice()),
			Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
		}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// crossOriginProtection refuses cross-site state-changing browser requests
// with the API's JSON error. Requests without browser headers (scripts
// using a bearer token) pass.
func (s *Server) crossOriginProtection(origin string, h http.Handler) (http.Handler, error) {
	p := http.NewCrossOriginProtection()
	if origin != "" {
		if err := p.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("server: trust public origin: %w", err)
		}
	}
	for _, pattern := range ltiBypass {
		p.AddInsecureBypassPattern(pattern)
	}
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeErrorJSON(w, http.StatusForbidden, lectern.EFORBIDDEN, "cross-origin request refused")
	}))
	return p.Handler(h), nil
}
