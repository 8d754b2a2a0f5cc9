package lti

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Leeway is the clock skew allowed between Lectern and a platform.
const Leeway = time.Minute

// Expect is what a platform's id_token must say to be believed.
type Expect struct {
	Issuer   string
	ClientID string
	// Deployments are the deployment ids registered for the platform.
	Deployments []string
	// Nonce is the nonce Lectern sent with the authentication request.
	Nonce string
	// JWKSURL is where the platform publishes its keys.
	JWKSURL string
	Now     time.Time
}

// ParseIDToken checks raw, an id_token a platform posted to the launch
// URL, in the order the LTI 1.3 Core specification (5.1.3) gives:
// signature with the platform's key (kid looked up in keys), issuer,
// audience and azp, expiry and issue time, nonce, then the LTI claims:
// version, message type, deployment, and what each message type
// requires. A failed check is a *Refusal.
func ParseIDToken(ctx context.Context, raw string, keys *KeySets, e Expect) (*Launch, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512})
	if err != nil {
		return nil, &Refusal{Reason: ReasonMalformed, Message: "The LMS sent a launch that is not a signed JSON Web Token (RS256).", err: err}
	}
	if len(tok.Headers) != 1 {
		return nil, refuse(ReasonMalformed, "The LMS sent a launch token with more than one signature.")
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		return nil, refuse(ReasonUnknownKey, "The LMS's launch token does not say which key signed it (no kid).")
	}
	key, err := keys.Key(ctx, e.JWKSURL, kid)
	if err != nil {
		return nil, err
	}
	var std jwt.Claims
	var c idTokenClaims
	if err := tok.Claims(key.Key, &std, &c); err != nil {
		return nil, &Refusal{Reason: ReasonBadSignature, Message: "The launch's signature does not match the LMS's key: it was not signed by the LMS registered for this issuer, or it was changed on the way.", err: err}
	}
	if err := checkStandard(&std, &c, e); err != nil {
		return nil, err
	}
	l, err := checkLTI(&std, &c, e)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func checkStandard(std *jwt.Claims, c *idTokenClaims, e Expect) error {
	if std.Issuer != e.Issuer {
		return refuse(ReasonWrongIssuer, "The launch says it comes from %q, not from the LMS it was started for (%q).", std.Issuer, e.Issuer)
	}
	if !std.Audience.Contains(e.ClientID) {
		return refuse(ReasonWrongAudience, "The launch is meant for another tool (audience %q), not for Lectern's client id %q.", strings.Join(std.Audience, ", "), e.ClientID)
	}
	if (len(std.Audience) > 1 || c.Azp != "") && c.Azp != e.ClientID {
		return refuse(ReasonWrongAzp, "The launch names another tool as its authorized party (azp %q).", c.Azp)
	}
	err := std.ValidateWithLeeway(jwt.Expected{Time: e.Now}, Leeway)
	switch {
	case std.Expiry == nil || std.IssuedAt == nil:
		return refuse(ReasonMissingClaim, "The launch token has no expiry or issue time (exp, iat).")
	case errors.Is(err, jwt.ErrExpired):
		return refuse(ReasonExpired, "This launch expired at %s. Open the activity again from your course.", std.Expiry.Time().UTC().Format(time.RFC3339))
	case err != nil:
		return &Refusal{Reason: ReasonExpired, Message: "The launch token is not valid at this time (its issue time is in the future). Check the LMS's clock.", err: err}
	case std.Subject == "":
		return refuse(ReasonMissingClaim, "The launch does not say who you are (no sub claim). Anonymous launches are not supported.")
	case c.Nonce == "" || c.Nonce != e.Nonce:
		return refuse(ReasonNonce, "The launch does not carry the nonce Lectern sent when it started. It may be a replay of an older launch.")
	}
	return nil
}

func checkLTI(std *jwt.Claims, c *idTokenClaims, e Expect) (*Launch, error) {
	switch {
	case c.Version == nil:
		return nil, missing("version")
	case *c.Version != Version:
		return nil, refuse(ReasonVersion, "The launch is LTI version %q; Lectern speaks LTI 1.3.0.", *c.Version)
	case c.MessageType == nil:
		return nil, missing("message_type")
	case c.Deployment == nil || *c.Deployment == "":
		return nil, missing("deployment_id")
	case !slices.Contains(e.Deployments, *c.Deployment):
		return nil, refuse(ReasonDeployment, "The LMS's deployment %q is not registered in Lectern. Ask your Lectern admin to add it to this platform.", *c.Deployment)
	case c.Roles == nil:
		return nil, missing("roles")
	}
	l := &Launch{
		Issuer: std.Issuer, ClientID: e.ClientID, Subject: std.Subject, Email: strings.TrimSpace(c.Email),
		Name: displayName(c), MessageType: *c.MessageType, DeploymentID: *c.Deployment,
		TargetLink: c.TargetLink, Roles: *c.Roles, Context: c.Context, ResourceLink: c.Resource,
		Custom: customStrings(c.Custom), DeepLinking: c.DeepLinking, NRPS: c.NRPS, AGS: c.AGS, Nonce: c.Nonce,
	}
	switch l.MessageType {
	case MessageResourceLink:
		if c.Resource == nil || c.Resource.ID == "" {
			return nil, missing("resource_link")
		}
		if c.TargetLink == "" {
			return nil, missing("target_link_uri")
		}
	case MessageDeepLinkingRequest:
		if c.DeepLinking == nil || c.DeepLinking.ReturnURL == "" {
			return nil, missing("deep_linking_settings")
		}
	default:
		return nil, refuse(ReasonMessageType, "Lectern does not handle LTI messages of type %q.", l.MessageType)
	}
	if l.Context != nil && l.Context.ID == "" {
		return nil, missing("context.id")
	}
	return l, nil
}

func missing(claim string) *Refusal {
	return refuse(ReasonMissingClaim, "The launch lacks the %s claim that LTI 1.3 requires, so Lectern cannot tell what it is for.", claim)
}

// displayName is the person's name as the token gives it.
func displayName(c *idTokenClaims) string {
	if n := strings.TrimSpace(c.Name); n != "" {
		return n
	}
	return strings.TrimSpace(strings.TrimSpace(c.GivenName) + " " + strings.TrimSpace(c.FamilyName))
}
