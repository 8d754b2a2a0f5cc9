package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

// runMigrate is "lectern migrate": applies the migrations and says so.
func (c *cli) runMigrate(ctx context.Context, args []string) int {
	cfg, code, ok := c.parseFlags(flag.NewFlagSet("migrate", flag.ContinueOnError), args)
	if !ok {
		return code
	}
	d, err := openDB(ctx, &cfg, true)
	if err != nil {
		fmt.Fprintf(c.Stderr, "lectern: %v\n", err)
		return exitFailure
	}
	defer d.Close()
	fmt.Fprintf(c.Stdout, "database %s is migrated to the latest schema\n", describeDatabase(cfg.DatabaseURL))
	return exitOK
}

// runUser dispatches "lectern user …".
func (c *cli) runUser(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintf(c.Stderr, "lectern user: the only subcommand is \"create\"\n\n%s", usageText)
		return exitUsage
	}
	return c.runUserCreate(ctx, args[1:])
}

// runUserCreate is "lectern user create": validates the user as the API
// would, creates it (migrating the database first), and prints its id.
func (c *cli) runUserCreate(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	email := fs.String("email", "", "the user's email, their login")
	name := fs.String("name", "", "the user's name as others see it")
	role := fs.String("role", "", "admin, teacher or student")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin (required)")
	cfg, code, ok := c.parseFlags(fs, args)
	if !ok {
		return code
	}
	for _, f := range []struct{ name, value string }{{"email", *email}, {"name", *name}, {"role", *role}} {
		if f.value == "" {
			fmt.Fprintf(c.Stderr, "lectern user create: --%s is required\n", f.name)
			return exitUsage
		}
	}
	if !*fromStdin {
		// Passwords in arguments end up in shell history and ps output.
		fmt.Fprintln(c.Stderr, "lectern user create: --password-stdin is required (the password is read from stdin's first line)")
		return exitUsage
	}
	password, err := readFirstLine(c.Stdin)
	if err != nil {
		fmt.Fprintf(c.Stderr, "lectern user create: read password from stdin: %v\n", err)
		return exitFailure
	}
	u, err := server.NewUser(*email, *name, lectern.Role(*role), password)
	if err != nil {
		fmt.Fprintf(c.Stderr, "lectern user create: %s\n", lectern.ErrorMessage(err))
		return exitFailure
	}
	d, err := openDB(ctx, &cfg, true)
	if err != nil {
		fmt.Fprintf(c.Stderr, "lectern: %v\n", err)
		return exitFailure
	}
	defer d.Close()
	if err := d.CreateUser(ctx, u); err != nil {
		msg := err.Error()
		if lectern.ErrorCode(err) != lectern.EINTERNAL {
			msg = lectern.ErrorMessage(err)
		}
		fmt.Fprintf(c.Stderr, "lectern user create: %s\n", msg)
		return exitFailure
	}
	fmt.Fprintln(c.Stdout, u.ID)
	return exitOK
}

// readFirstLine reads r up to the first newline (or EOF) and returns that
// line without its line ending.
func readFirstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if line == "" && errors.Is(err, io.EOF) {
		return "", errors.New("stdin is empty")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// versionString describes this build: module version, VCS revision when
// known, Go version.
func versionString() string {
	version, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" && modified {
			rev += "+dirty"
		}
	}
	s := "lectern " + version
	if rev != "" {
		s += " " + rev
	}
	return s + " " + runtime.Version()
}
