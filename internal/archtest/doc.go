// Package archtest holds the tests of the house rules that span packages:
// every lopper import, in every file (tests included), is one that the
// import graph in docs/DESIGN.md allows, every exported identifier has a
// doc comment, and CI (README.md's ci:test lines) runs the tests with and
// without the race detector. It has no code of its own; see its _test.go
// files.
package archtest
