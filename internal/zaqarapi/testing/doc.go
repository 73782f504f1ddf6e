// Package testing holds zaqarapi's tests, run against this repository's
// real zaqar-server (internal/zaqartest), as gophercloud keeps its unit
// tests in a testing subpackage.
package testing
