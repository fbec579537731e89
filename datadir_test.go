//go:build unix

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func dirMode(t *testing.T, dir string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// Every command opens the data directory the same way: one that other users can read is
// made the owner's alone before anything is written into it.
func TestCommandsTightenTheDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(t.Context(), []string{"app", "list", "-data", dir}, strings.NewReader(""), &out, &out); err != nil {
		t.Fatalf("app list: %v\n%s", err, out.String())
	}
	if got := dirMode(t, dir); got != 0o700 {
		t.Errorf("the data directory after a command: %v, want 0700", got)
	}
}

func TestSecureDataDir(t *testing.T) {
	chmodFails := func(string, fs.FileMode) error { return fs.ErrPermission }
	for _, tc := range []struct {
		name      string
		make      func(t *testing.T, dir string) // nil: the directory does not exist
		chmod     func(string, fs.FileMode) error
		wantMode  fs.FileMode
		wantError []string
	}{
		{name: "created, with its parents", wantMode: 0o700},
		{name: "the owner's alone already", make: mkdir(0o700), wantMode: 0o700},
		{name: "readable by others", make: mkdir(0o755), wantMode: 0o700},
		{name: "writable by its group", make: mkdir(0o770), wantMode: 0o700},
		{name: "the owner's alone, and chmod would fail", make: mkdir(0o700), chmod: chmodFails, wantMode: 0o700},
		{name: "readable by others, and another user's", make: mkdir(0o755), chmod: chmodFails,
			wantError: []string{"other users", "0755", "chmod 700", "-data"}},
		{name: "a file", make: func(t *testing.T, dir string) { os.WriteFile(dir, nil, 0o600) },
			wantError: []string{"not a directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "var", "captcha")
			if tc.make != nil {
				os.MkdirAll(filepath.Dir(dir), 0o755)
				tc.make(t, dir)
			}
			if tc.chmod == nil {
				tc.chmod = os.Chmod
			}
			_, err := secureDir(dir, tc.chmod)
			if tc.wantError != nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, want := range append(tc.wantError, dir) {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("the error does not say %q: %v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := dirMode(t, dir); got != tc.wantMode {
				t.Errorf("mode %v, want %v", got, tc.wantMode)
			}
		})
	}
}

func mkdir(mode fs.FileMode) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := os.Mkdir(dir, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
}
