//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFileName is the file in the data directory that every process using the SQLite
// database holds a shared lock on, and that restore locks exclusively: restore refuses to
// run while a server (or any command) uses the database, and they wait for nothing.
const lockFileName = "captcha.lock"

// errInUse is restore's answer when the database is in use.
var errInUse = errors.New("the database is in use: stop the server (and any captcha command) first")

// lockData takes the data directory's lock, shared or exclusive, without waiting, and
// returns what releases it.
func lockData(dir string, exclusive bool) (release func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if exclusive {
				return nil, errInUse
			}
			return nil, fmt.Errorf("a restore of the database in %s is in progress", dir)
		}
		return nil, err
	}
	return func() { f.Close() }, nil // closing the file lets go of the lock
}
