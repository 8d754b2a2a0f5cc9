package lti

import (
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// ContentItem is a Deep Linking 2.0 content item; Lectern returns
// ltiResourceLink items.
type ContentItem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title,omitempty"`
	Text      string            `json:"text,omitempty"`
	URL       string            `json:"url,omitempty"`
	Thumbnail *Image            `json:"thumbnail,omitempty"`
	Icon      *Image            `json:"icon,omitempty"`
	LineItem  *LineItem         `json:"lineItem,omitempty"`
	Custom    map[string]string `json:"custom,omitempty"`
}

// Image is a content item's thumbnail or icon.
type Image struct {
	URL    string `json:"url"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

// LineItem asks the platform to create a gradebook column for the link.
type LineItem struct {
	Label        string  `json:"label,omitempty"`
	ScoreMaximum float64 `json:"scoreMaximum"`
	ResourceID   string  `json:"resourceId,omitempty"`
	Tag          string  `json:"tag,omitempty"`
}

// TypeResourceLink is the content item type of a launchable link.
const TypeResourceLink = "ltiResourceLink"

// DeepLinkingResponse returns the claims of the JWT Lectern posts back
// to the platform's deep_link_return_url: issued by the client id, for
// the platform's issuer, echoing the deployment and the request's data.
func DeepLinkingResponse(l *Launch, items []ContentItem, msg string, now time.Time) map[string]any {
	if items == nil {
		items = []ContentItem{}
	}
	claims := map[string]any{
		"iss":             l.ClientID,
		"aud":             []string{l.Issuer},
		"iat":             jwt.NewNumericDate(now),
		"exp":             jwt.NewNumericDate(now.Add(MessageLifetime)),
		"nonce":           randomID(),
		"jti":             randomID(),
		ClaimMessageType:  MessageDeepLinkingResponse,
		ClaimVersion:      Version,
		ClaimDeploymentID: l.DeploymentID,
		ClaimContentItems: items,
	}
	if l.DeepLinking != nil && l.DeepLinking.Data != "" {
		claims[ClaimDeepLinkingData] = l.DeepLinking.Data
	}
	if msg != "" {
		claims[ClaimDeepLinkingMsg] = msg
	}
	return claims
}
