package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// initialPasswordName is the file in the data directory that holds the admin account's
// generated password from the first start until the password is changed. A file readable
// by the server's user alone, rather than the log: logs are often shipped to, and kept by,
// systems that many more people can read.
const initialPasswordName = "initial-admin-password"

func initialPasswordPath(cfg Config) string {
	return filepath.Join(cfg.DataDir, initialPasswordName)
}

// writeInitialPassword writes password to path, mode 0600 whatever the umask. A file left
// there before (by a data directory whose database was deleted) is replaced, not reused:
// its mode could be anything.
func writeInitialPassword(path, password string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, password)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// removeInitialPassword deletes the file once the admin account has a password someone
// chose; it says whether there was one.
func removeInitialPassword(path string) (bool, error) {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
