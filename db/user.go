package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

const userColumns = `id, email, name, role, password_hash, created_at, deactivated_at`

// normEmail is the form emails are stored and looked up in.
func normEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func validateUser(u *lectern.User) error {
	if u.Email == "" || !strings.Contains(u.Email, "@") {
		return lectern.Errorf(lectern.EINVALID, "a valid email address is required")
	}
	if !u.Role.Valid() {
		return lectern.Errorf(lectern.EINVALID, "role must be admin, teacher or student")
	}
	return nil
}

// CreateUser stores u, filling u.ID and u.CreatedAt and normalising
// u.Email (trimmed, lowercased). It returns an ECONFLICT error when a user
// with the same email, in any case, exists.
func (db *DB) CreateUser(ctx context.Context, u *lectern.User) error {
	return db.write(ctx, func(t tx) error { return db.insertUser(ctx, t, u) })
}

// CreateFirstAdmin creates u as an admin (u.Role is set to admin) only
// when there are no users at all, and reports whether it did. It is safe
// when several processes start at once: exactly one creates its admin.
func (db *DB) CreateFirstAdmin(ctx context.Context, u *lectern.User) (bool, error) {
	created := false
	err := db.write(ctx, func(t tx) error {
		if db.dialect == DialectPostgres {
			// Read-then-insert must not interleave between processes; the
			// lock conflicts with itself and with writers, not readers.
			// (SQLite's BEGIN IMMEDIATE already serialises writers.)
			if _, err := t.exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return fmt.Errorf("lock users: %w", err)
			}
		}
		n, err := countUsers(ctx, t)
		if err != nil || n > 0 {
			return err
		}
		u.Role = lectern.RoleAdmin
		if err := db.insertUser(ctx, t, u); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("create first admin: %w", err)
	}
	return created, nil
}

func (db *DB) insertUser(ctx context.Context, t tx, u *lectern.User) error {
	u.Email = normEmail(u.Email)
	if err := validateUser(u); err != nil {
		return err
	}
	nu := *u
	nu.ID = newID()
	nu.CreatedAt = db.now()
	_, err := t.named(ctx, `INSERT INTO users (id, email, name, role, password_hash, created_at)
		VALUES (:id, :email, :name, :role, :password_hash, :created_at)`, &nu)
	if isUniqueViolation(err) {
		return lectern.Errorf(lectern.ECONFLICT, "a user with this email already exists")
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	u.ID, u.CreatedAt = nu.ID, nu.CreatedAt
	return nil
}

// FindUserByID returns the user with the given id.
func (db *DB) FindUserByID(ctx context.Context, id string) (*lectern.User, error) {
	return db.findUser(ctx, "user not found", `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
}

// FindUserByEmail returns the user with the given email, in any case.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*lectern.User, error) {
	return db.findUser(ctx, "user not found", `SELECT `+userColumns+` FROM users WHERE email = ?`, normEmail(email))
}

// findUser returns the one user query selects, or an ENOTFOUND error
// with the given message.
func (db *DB) findUser(ctx context.Context, notFoundMsg, query string, args ...any) (*lectern.User, error) {
	var u lectern.User
	// One statement is its own transaction: running it outside BEGIN/COMMIT
	// saves two round trips on the path every authenticated request takes.
	err := db.db.GetContext(ctx, &u, db.db.Rebind(query), args...)
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "%s", notFoundMsg)
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", markLost(err))
	}
	return &u, nil
}

// FindUsers returns every user, ordered by email.
func (db *DB) FindUsers(ctx context.Context) ([]*lectern.User, error) {
	users := []*lectern.User{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &users, `SELECT `+userColumns+` FROM users ORDER BY email`)
	})
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	return users, nil
}

// CountUsers returns the number of users.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.read(ctx, func(t tx) error {
		var err error
		n, err = countUsers(ctx, t)
		return err
	})
	return n, err
}

func countUsers(ctx context.Context, t tx) (int, error) {
	var n int
	if err := t.get(ctx, &n, `SELECT COUNT(*) FROM users`); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}
