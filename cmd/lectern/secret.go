package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// secretFile is the name, inside the data dir, of the generated signing key.
const secretFile = "secret"

// loadOrCreateSecret returns the signing key kept in dir/secret, creating
// it (32 random bytes, hex, mode 0600) when it does not exist yet. created
// reports whether this call wrote it. The key is written to a temporary
// file and hard-linked into place, so a reader never sees a half-written
// key and two processes starting at once agree on one.
func loadOrCreateSecret(dir string) (secret []byte, created bool, err error) {
	path := filepath.Join(dir, secretFile)
	if s, err := readSecret(path); !errors.Is(err, fs.ErrNotExist) {
		return s, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create data dir: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, false, fmt.Errorf("generate secret: %w", err)
	}
	key := hex.EncodeToString(b)
	tmp, err := os.CreateTemp(dir, ".secret-*")
	if err != nil {
		return nil, false, fmt.Errorf("create secret file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(key + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("write secret file: %w", err)
	}
	// CreateTemp makes the file 0600 already; Link keeps the mode.
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		s, err := readSecret(path)
		return s, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("install secret file: %w", err)
	}
	return []byte(key), true, nil
}

func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) < 32 {
		return nil, fmt.Errorf("secret file %s holds fewer than 32 characters; delete it to have a new one generated", path)
	}
	return []byte(s), nil
}

// signingSecret returns the configured LECTERN_SECRET, or the one kept in
// the data dir.
func (c *Config) signingSecret() (secret []byte, generated bool, err error) {
	if c.Secret != "" {
		return []byte(c.Secret), false, nil
	}
	return loadOrCreateSecret(c.DataDir)
}
