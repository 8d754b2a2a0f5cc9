package lti

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// keyBits is the size of the RSA keys Lectern signs with (RS256, as LTI
// 1.3 requires).
const keyBits = 2048

// KeyGrace is how long a retired key stays in Lectern's JWKS: longer than
// anything signed with it lives (client assertions and deep linking
// responses last MessageLifetime), so that a platform can still check
// a message signed just before a rotation.
const KeyGrace = time.Hour

// MessageLifetime is how long the JWTs Lectern signs are valid.
const MessageLifetime = 5 * time.Minute

// Key is one of Lectern's signing keys.
type Key struct {
	ID        string
	Private   *rsa.PrivateKey
	CreatedAt time.Time
	// RetiredAt is when a newer key replaced this one; nil for the
	// current key.
	RetiredAt *time.Time
}

// NewKey makes a fresh RSA key whose id is its JWK thumbprint.
func NewKey(now time.Time) (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("lti: generate key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("lti: key thumbprint: %w", err)
	}
	return &Key{ID: base64.RawURLEncoding.EncodeToString(tp), Private: priv, CreatedAt: now}, nil
}

// Published reports whether the key belongs in the JWKS at now: current,
// or retired less than KeyGrace ago.
func (k *Key) Published(now time.Time) bool {
	return k.RetiredAt == nil || now.Before(k.RetiredAt.Add(KeyGrace))
}

// JWK is the key's public half as a JSON Web Key.
func (k *Key) JWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.Private.PublicKey, KeyID: k.ID, Algorithm: string(jose.RS256), Use: "sig"}
}

// Sign serialises claims (structs or maps, merged) as a JWT signed with
// the key, its id in the header.
func (k *Key) Sign(claims ...any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.ID)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.Private}, opts)
	if err != nil {
		return "", fmt.Errorf("lti: signer: %w", err)
	}
	b := jwt.Signed(sig)
	for _, c := range claims {
		b = b.Claims(c)
	}
	s, err := b.Serialize()
	if err != nil {
		return "", fmt.Errorf("lti: sign: %w", err)
	}
	return s, nil
}

// JWKS returns the published keys of ring as a key set.
func JWKS(ring []*Key, now time.Time) jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range ring {
		if k.Published(now) {
			set.Keys = append(set.Keys, k.JWK())
		}
	}
	return set
}

// Current returns the newest unretired key of ring, or nil.
func Current(ring []*Key) *Key {
	var cur *Key
	for _, k := range ring {
		if k.RetiredAt == nil && (cur == nil || k.CreatedAt.After(cur.CreatedAt)) {
			cur = k
		}
	}
	return cur
}

// sealPrefix marks a sealed private key, with the scheme's version.
const sealPrefix = "v1:"

// SealPrivate returns the key's private half, PKCS #8, encrypted with
// AES-256-GCM under a key derived from secret, for storing in the
// database: a copy of the database alone does not let anyone sign as
// Lectern.
func SealPrivate(secret []byte, priv *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("lti: marshal key: %w", err)
	}
	aead, err := sealAEAD(secret)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := aead.Seal(nonce, nonce, der, []byte("lectern lti key"))
	return sealPrefix + base64.StdEncoding.EncodeToString(out), nil
}

// OpenPrivate undoes SealPrivate.
func OpenPrivate(secret []byte, sealed string) (*rsa.PrivateKey, error) {
	body, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, errors.New("lti: sealed key has an unknown format")
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("lti: sealed key: %w", err)
	}
	aead, err := sealAEAD(secret)
	if err != nil {
		return nil, err
	}
	if len(raw) < aead.NonceSize() {
		return nil, errors.New("lti: sealed key is truncated")
	}
	der, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte("lectern lti key"))
	if err != nil {
		return nil, errors.New("lti: sealed key does not open with this secret (was LECTERN_SECRET changed?)")
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("lti: parse key: %w", err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("lti: sealed key is not an RSA key")
	}
	return priv, nil
}

func sealAEAD(secret []byte) (cipher.AEAD, error) {
	sum := sha256.Sum256(append([]byte("lectern lti key sealing\x00"), secret...))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, fmt.Errorf("lti: cipher: %w", err)
	}
	return cipher.NewGCM(block)
}
