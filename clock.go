package lectern

import "time"

// Clock tells the time. Repositories and handlers take one so that tests
// can control expiry and ordering.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
