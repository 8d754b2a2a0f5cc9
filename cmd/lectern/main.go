// Command lectern is the one Lectern binary. "lectern serve" runs
// everything in one process on embedded services; "lectern api" and
// "lectern worker" are the two halves of the scaled setup; "lectern
// migrate" and "lectern user create" are for operators. Configuration
// comes from LECTERN_* environment variables, overridden by flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // something went wrong while running
	exitUsage   = 2 // bad command line or configuration
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second one kills a shutdown that takes too long.
		<-ctx.Done()
		stop()
	}()
	c := &cli{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	code := c.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// cli is what a command gets from its process besides arguments: standard
// streams and environment. Tests substitute them.
type cli struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

const usageText = `Lectern: a self-hosted video lesson server.

Usage:
  lectern serve       API and transcode worker in one process (embedded services by default)
  lectern api         the API server of the scaled setup (needs LECTERN_REDIS_URL)
  lectern worker      a transcode worker of the scaled setup (needs LECTERN_REDIS_URL)
  lectern migrate     apply database migrations
  lectern user create --email E --name N --role admin|teacher|student --password-stdin
                      create a user, reading the password from stdin's first line
  lectern version     print the version
  lectern help        print this help

Every setting is a LECTERN_* environment variable, overridden by a flag;
"lectern serve -h" lists them.
`

// run runs the command in args and returns the exit status.
func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, usageText)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve", "api", "worker":
		return c.runDaemon(ctx, cmd, rest)
	case "migrate":
		return c.runMigrate(ctx, rest)
	case "user":
		return c.runUser(ctx, rest)
	case "version":
		fmt.Fprintln(c.Stdout, versionString())
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.Stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(c.Stderr, "lectern: unknown command %q\n\n%s", cmd, usageText)
		return exitUsage
	}
}

// parseFlags parses args with fs, on which the configuration flags are
// registered too, then loads and validates the configuration. ok is false
// when the command must stop with the returned status.
func (c *cli) parseFlags(fs *flag.FlagSet, args []string) (cfg Config, code int, ok bool) {
	RegisterConfigFlags(fs)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(c.Stdout)
		fmt.Fprintf(c.Stdout, "Usage of lectern %s:\n", fs.Name())
		fs.PrintDefaults()
		return Config{}, exitOK, false
	} else if err != nil {
		fmt.Fprintf(c.Stderr, "lectern %s: %v (see lectern %s -h)\n", fs.Name(), err, fs.Name())
		return Config{}, exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.Stderr, "lectern %s: unexpected argument %q (see lectern %s -h)\n", fs.Name(), fs.Arg(0), fs.Name())
		return Config{}, exitUsage, false
	}
	cfg, err := LoadConfig(fs, c.Getenv)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(c.Stderr, "lectern: %v\n", err)
		return Config{}, exitUsage, false
	}
	return cfg, exitOK, true
}

// daemon is a long-running mode: ServeMain, APIMain or WorkerMain.
type daemon interface {
	Run(ctx context.Context) error
	Err() <-chan error
	Close() error
}

// runDaemon starts mode, runs it until a signal (or a failure), and shuts
// it down gracefully.
func (c *cli) runDaemon(ctx context.Context, mode string, args []string) int {
	cfg, code, ok := c.parseFlags(flag.NewFlagSet(mode, flag.ContinueOnError), args)
	if !ok {
		return code
	}
	if mode != "serve" {
		if err := cfg.RequireRedis(mode); err != nil {
			fmt.Fprintf(c.Stderr, "lectern: %v\n", err)
			return exitUsage
		}
	}
	logger := newLogger(cfg.LogFormat, c.Stderr)
	var d daemon
	switch mode {
	case "serve":
		d = NewServeMain(cfg, logger, c.Stdout)
	case "api":
		d = NewAPIMain(cfg, logger, c.Stdout)
	default:
		d = NewWorkerMain(cfg, logger)
	}
	if err := d.Run(ctx); err != nil {
		logger.Error("start-up failed", "error", err)
		if err := d.Close(); err != nil {
			logger.Error("close", "error", err)
		}
		return exitFailure
	}
	code = exitOK
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	case err := <-d.Err():
		logger.Error("shutting down after a failure", "error", err)
		code = exitFailure
	}
	if err := d.Close(); err != nil {
		logger.Error("shutdown", "error", err)
		return exitFailure
	}
	logger.Info("stopped")
	return code
}
