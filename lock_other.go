//go:build !unix

package main

// lockData does nothing where there is no flock: restore cannot tell whether the server
// runs, and the README says to stop it first.
func lockData(dir string, exclusive bool) (release func(), err error) { return func() {}, nil }
