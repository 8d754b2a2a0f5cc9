// Package lti is Lectern's side of the LTI 1.3 protocol (LTI Advantage):
// the claims of the messages a platform (an LMS) sends, the checks an
// id_token must pass before a launch is believed, the messages Lectern
// signs back (deep linking responses, client-credentials assertions), the
// JSON Web Key Sets of both sides, and the clients of the platform's
// services (Names and Role Provisioning 2.0, Assignment and Grade Services
// 2.0). It knows nothing of Lectern's database or HTTP server: the server
// package stores what it returns and serves what it builds.
//
// JOSE is github.com/go-jose/go-jose/v4, the same library the test
// platform (internal/ltiplatform) uses on the other side.
package lti
