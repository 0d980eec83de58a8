// Package e2e holds ecredit's browser end-to-end tests (test files only):
// the real binary, built from cmd/ecredit and started with `serve --demo` on
// a temporary data directory and a free loopback port, driven by headless
// Chromium through chromedp.
//
// Each journey is a Flow registered from its own file with register (see
// harness_test.go); TestBrowser runs every flow in a fresh tab and, when one
// fails, keeps a full-page screenshot, the page's HTML and the server log in
// the artifacts directory ($ECREDIT_ARTIFACTS, else a temporary directory
// that is kept only on failure; its path is printed).
//
// Chromium is /usr/bin/chromium (or $ECREDIT_CHROMIUM). Without it the tests
// are skipped with a message, unless CI=true, where a missing browser fails.
package e2e
