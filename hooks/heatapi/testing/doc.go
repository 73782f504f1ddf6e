// Package testing holds the unit tests of heatapi, with fixtures taken from
// a real Heat 19 (../shared/reference/heat-captures/heat-hook-*.json).
package testing
