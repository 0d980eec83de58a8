// Package proof holds the suites that show ecredit keeps its promises
// against a real application: one app.Open on SQLite in a temporary
// directory, served over real HTTP, with real API keys and console
// sessions for every role.
//
//   - access_test.go: the access matrix, every route of the API
//     (httpapi.API.Routes) and of the web site (web.Site.Routes) × every
//     role; a route without an entry fails the test. Cross-tenant reads
//     and writes and mass assignment.
//   - malformed_test.go: a seeded campaign of malformed requests across
//     every route: 0 panics, 0 5xx (PROOF_MALFORMED=N for a longer run).
//   - privacy_test.go: thousands of synthetic persons, every public
//     response, export, report, list and log line scanned for unmasked
//     ID or mobile numbers; every reveal of personal data audited.
//   - security_test.go: security headers on every HTML route, CSRF on
//     every console form, rate limits on public search and profiles.
//
// Each later capability adds its cases to the tables of these files; the
// completeness checks make a route without cases fail.
package proof
