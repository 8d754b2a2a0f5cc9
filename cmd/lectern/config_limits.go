package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lectern/lectern/server"
)

// setPositiveInt stores a positive integer.
func setPositiveInt(dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return fmt.Errorf("must be a positive integer, got %q", v)
		}
		*dst(c) = n
		return nil
	}
}

// serverLimits are the API server's limits as configured; what is not
// configured takes the server's defaults.
func (c *Config) serverLimits() server.Limits {
	return server.Limits{
		EventStreamsPerUser: c.EventStreamsPerUser,
		MaxEventStreams:     c.MaxEventStreams,
		PasswordHashes:      c.PasswordHashConcurrency,
	}
}
