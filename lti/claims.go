package lti

import (
	"encoding/json"
	"slices"
	"strings"
)

// Claim names of LTI 1.3 Core, Deep Linking 2.0, NRPS 2.0 and AGS 2.0.
const (
	ClaimMessageType   = "https://purl.imsglobal.org/spec/lti/claim/message_type"
	ClaimVersion       = "https://purl.imsglobal.org/spec/lti/claim/version"
	ClaimDeploymentID  = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
	ClaimTargetLinkURI = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"
	ClaimResourceLink  = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
	ClaimRoles         = "https://purl.imsglobal.org/spec/lti/claim/roles"
	ClaimContext       = "https://purl.imsglobal.org/spec/lti/claim/context"
	ClaimCustom        = "https://purl.imsglobal.org/spec/lti/claim/custom"
	ClaimPlatform      = "https://purl.imsglobal.org/spec/lti/claim/tool_platform"

	ClaimDeepLinkingSettings = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
	ClaimContentItems        = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
	ClaimDeepLinkingData     = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
	ClaimDeepLinkingMsg      = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"

	ClaimNRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
	ClaimAGS  = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
)

// Message types and the version Lectern speaks.
const (
	MessageResourceLink        = "LtiResourceLinkRequest"
	MessageDeepLinkingRequest  = "LtiDeepLinkingRequest"
	MessageDeepLinkingResponse = "LtiDeepLinkingResponse"
	Version                    = "1.3.0"
)

// OAuth 2 scopes of the services.
const (
	ScopeNRPS          = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
	ScopeLineItem      = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
	ScopeLineItemRead  = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
	ScopeResultRead    = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
	ScopeScore         = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
	MediaTypeScore     = "application/vnd.ims.lis.v1.score+json"
	MediaTypeNRPS      = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
	MediaTypeLineItems = "application/vnd.ims.lis.v2.lineitemcontainer+json"
)

// CustomLesson is the custom parameter Lectern puts on the resource links
// it returns from deep linking: the lesson the link opens.
const CustomLesson = "lectern_lesson"

// Role is what an LTI role URI says a person is in the context, reduced
// to what Lectern tells apart.
type Role int

// Roles, from least to most.
const (
	RoleNone Role = iota
	RoleLearner
	RoleInstructor
	RoleAdministrator
)

// Roles returns the strongest role the role URIs (context roles, short
// names, institution and system roles) name. TeachingAssistant and
// ContentDeveloper count as Instructor; Mentor as Learner.
func Roles(uris []string) Role {
	best := RoleNone
	for _, u := range uris {
		r := roleOf(u)
		if r > best {
			best = r
		}
	}
	return best
}

func roleOf(uri string) Role {
	name := uri
	if i := strings.LastIndexAny(uri, "#/"); i >= 0 {
		name = uri[i+1:]
	}
	// Sub-roles ("membership/Instructor#TeachingAssistant") name the
	// principal role before the '#'.
	if strings.Contains(uri, "/membership/") {
		principal := uri[strings.Index(uri, "/membership/")+len("/membership/"):]
		name, _, _ = strings.Cut(principal, "#")
	}
	switch name {
	case "Administrator", "SysAdmin":
		return RoleAdministrator
	case "Instructor", "TeachingAssistant", "ContentDeveloper", "Faculty":
		return RoleInstructor
	case "Learner", "Student", "Mentor", "Member":
		return RoleLearner
	}
	return RoleNone
}

// ResourceLink is the resource_link claim.
type ResourceLink struct {
	ID          string `json:"id"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// Context is the context claim: the LMS course.
type Context struct {
	ID    string   `json:"id"`
	Label string   `json:"label,omitempty"`
	Title string   `json:"title,omitempty"`
	Type  []string `json:"type,omitempty"`
}

// DeepLinkingSettings is the deep_linking_settings claim.
type DeepLinkingSettings struct {
	ReturnURL      string   `json:"deep_link_return_url"`
	AcceptTypes    []string `json:"accept_types"`
	AcceptMultiple *bool    `json:"accept_multiple,omitempty"`
	AcceptLineItem *bool    `json:"accept_lineitem,omitempty"`
	AutoCreate     bool     `json:"auto_create,omitempty"`
	Title          string   `json:"title,omitempty"`
	Data           string   `json:"data,omitempty"`
}

// Accepts reports whether the platform takes items of type t.
func (s *DeepLinkingSettings) Accepts(t string) bool { return slices.Contains(s.AcceptTypes, t) }

// NRPSClaim is the namesroleservice claim.
type NRPSClaim struct {
	MembershipsURL  string   `json:"context_memberships_url"`
	ServiceVersions []string `json:"service_versions,omitempty"`
}

// AGSClaim is the Assignment and Grade Services endpoint claim.
type AGSClaim struct {
	Scope     []string `json:"scope"`
	LineItems string   `json:"lineitems,omitempty"`
	LineItem  string   `json:"lineitem,omitempty"`
}

// HasScope reports whether the platform granted scope for this launch.
func (a *AGSClaim) HasScope(scope string) bool { return slices.Contains(a.Scope, scope) }

// Launch is a validated LTI message: who, from where, and what for.
type Launch struct {
	Issuer       string
	ClientID     string
	Subject      string
	Name         string
	Email        string
	MessageType  string
	DeploymentID string
	TargetLink   string
	Roles        []string
	Context      *Context
	ResourceLink *ResourceLink
	Custom       map[string]string
	DeepLinking  *DeepLinkingSettings
	NRPS         *NRPSClaim
	AGS          *AGSClaim
	Nonce        string
}

// Role is the strongest role the launch's roles name.
func (l *Launch) Role() Role { return Roles(l.Roles) }

// idTokenClaims is an id_token's payload as it is decoded; pointers tell
// an absent claim from an empty one.
type idTokenClaims struct {
	Nonce       string                     `json:"nonce"`
	Azp         string                     `json:"azp"`
	Name        string                     `json:"name"`
	GivenName   string                     `json:"given_name"`
	FamilyName  string                     `json:"family_name"`
	Email       string                     `json:"email"`
	MessageType *string                    `json:"https://purl.imsglobal.org/spec/lti/claim/message_type"`
	Version     *string                    `json:"https://purl.imsglobal.org/spec/lti/claim/version"`
	Deployment  *string                    `json:"https://purl.imsglobal.org/spec/lti/claim/deployment_id"`
	TargetLink  string                     `json:"https://purl.imsglobal.org/spec/lti/claim/target_link_uri"`
	Roles       *[]string                  `json:"https://purl.imsglobal.org/spec/lti/claim/roles"`
	Context     *Context                   `json:"https://purl.imsglobal.org/spec/lti/claim/context"`
	Resource    *ResourceLink              `json:"https://purl.imsglobal.org/spec/lti/claim/resource_link"`
	Custom      map[string]json.RawMessage `json:"https://purl.imsglobal.org/spec/lti/claim/custom"`
	DeepLinking *DeepLinkingSettings       `json:"https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"`
	NRPS        *NRPSClaim                 `json:"https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"`
	AGS         *AGSClaim                  `json:"https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"`
}

// customStrings keeps the custom parameters that are strings (the
// specification makes them strings; a platform sending anything else is
// ignored for that key).
func customStrings(raw map[string]json.RawMessage) map[string]string {
	out := map[string]string{}
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		}
	}
	return out
}
