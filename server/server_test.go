package server_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/lectern/lectern/server"
)

func TestNewRefusesBadOptions(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	for name, edit := range map[string]func(*server.Options){
		"NoDB":         func(o *server.Options) { o.DB = nil },
		"NoStorage":    func(o *server.Options) { o.Storage = nil },
		"ShortSecret":  func(o *server.Options) { o.Secret = []byte("short") },
		"BadPublicURL": func(o *server.Options) { o.PublicURL = "lectern.example.org" },
	} {
		t.Run(name, func(t *testing.T) {
			opts := server.Options{DB: fx.DB, Storage: fx.Store, Secret: bytes.Repeat([]byte("k"), 32)}
			edit(&opts)
			if _, err := server.New(opts); err == nil {
				t.Errorf("New accepted bad options")
			}
		})
	}
}
