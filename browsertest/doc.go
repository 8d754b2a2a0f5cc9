// Package browsertest holds Lectern's browser tests: the built lectern
// binary runs "serve" on a fresh data dir, and Debian's chromium, driven
// by chromedp, goes through the product as a teacher and a student would.
// There is no non-test code; see story_test.go.
//
// Screenshots of the pages land in the directory named by
// LECTERN_TEST_ARTIFACTS (a new temporary directory when unset, whose path
// the test logs), so that CI can keep them with its logs.
//
// The accessibility tests (a11y_test.go) run axe-core, vendored in
// testdata/axe at the version pinned in testdata/axe/refresh.sh; the line
// below copies that version from npm again.
package browsertest

//go:generate sh testdata/axe/refresh.sh
