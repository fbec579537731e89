package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// The data directory holds the database (the server's secret, the answers of live keys, the
// operators' password hashes and sessions) and, until the first sign-in, the admin account's
// password. Only the user the server runs as may enter it.

// secureDataDir creates dir with mode 0700, or makes an existing one 0700 if other users
// can get at it, and refuses one that this user cannot make so. It returns the mode it
// replaced, or 0.
func secureDataDir(dir string) (fs.FileMode, error) {
	return secureDir(dir, os.Chmod)
}

// secureDir is secureDataDir with the chmod to use, so that tests running as root can see a
// directory that is someone else's.
func secureDir(dir string, chmod func(string, fs.FileMode) error) (fs.FileMode, error) {
	if runtime.GOOS == "windows" {
		return 0, os.MkdirAll(dir, 0o700) // no unix modes to check: access is by ACL there
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return 0, fmt.Errorf("creating the data directory: %w", err)
		}
		// MkdirAll's mode is less the umask, which could leave it unusable: set it exactly.
		return 0, chmod(dir, 0o700)
	}
	if err != nil {
		return 0, fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return 0, fmt.Errorf("data directory %s is not a directory", dir)
	}
	was := fi.Mode().Perm()
	if was&0o077 == 0 {
		return 0, nil
	}
	if err := chmod(dir, 0o700); err != nil {
		return 0, fmt.Errorf("data directory %s is open to other users (mode %04o) and this user cannot change that (%w): "+
			"run `chmod 700 %s` as its owner, or choose another directory with -data or CAPTCHA_DATA",
			dir, was, err, dir)
	}
	return was, nil
}
