package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/server"
)

// generatedAdminEmail is the login of the admin "lectern serve" creates on
// an empty database when no LECTERN_ADMIN_* is set.
const generatedAdminEmail = "admin@localhost"

// adminName is the display name of an admin created at start-up.
const adminName = "Administrator"

// firstAdmin says how ensureFirstAdmin behaves when LECTERN_ADMIN_* is unset.
type firstAdmin struct {
	// generate creates generatedAdminEmail with a random password, printed
	// once on banner (serve only: a newcomer must be able to log in).
	generate bool
	banner   io.Writer
	loginURL string
	logger   *slog.Logger
}

// ensureFirstAdmin creates the first admin when there are no users: the
// one LECTERN_ADMIN_EMAIL and LECTERN_ADMIN_PASSWORD name, or else, with
// opts.generate, admin@localhost with a random password shown once. Once a
// user exists it does nothing, so later starts neither create nor print.
func ensureFirstAdmin(ctx context.Context, d *db.DB, cfg *Config, opts firstAdmin) error {
	if cfg.AdminEmail == "" && !opts.generate {
		return nil
	}
	// Counting first spares a password hash on every ordinary start;
	// CreateFirstAdmin re-checks in its transaction.
	n, err := d.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return nil
	}
	email, password := cfg.AdminEmail, cfg.AdminPassword
	if email == "" {
		email, password = generatedAdminEmail, rand.Text()
	}
	u, err := server.NewUser(email, adminName, lectern.RoleAdmin, password)
	if err != nil {
		return fmt.Errorf("first admin %s: %s", email, lectern.ErrorMessage(err))
	}
	created, err := d.CreateFirstAdmin(ctx, u)
	if err != nil || !created {
		return err
	}
	opts.logger.Info("created the first admin", "email", u.Email)
	if cfg.AdminEmail == "" {
		printAdminBanner(opts.banner, u.Email, password, opts.loginURL)
	}
	return nil
}

// printAdminBanner shows a generated admin login, the only time it is shown.
func printAdminBanner(w io.Writer, email, password, loginURL string) {
	rule := strings.Repeat("=", 72)
	fmt.Fprintf(w, `
%s
  Lectern created the first admin account. Log in at
  %s with:

      email:     %s
      password:  %s

  This password is shown only this once: save it now.
  (To choose the first admin yourself, start on an empty data dir with
  LECTERN_ADMIN_EMAIL and LECTERN_ADMIN_PASSWORD set.)
%s

`, rule, loginURL, email, password, rule)
}
