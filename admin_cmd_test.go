package main

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"captcha/engine/service"
	"captcha/engine/sqlite"
)

func TestAdminPasswd(t *testing.T) {
	dir := t.TempDir()
	passwd := func(user, input string) (string, error) {
		var out, errOut strings.Builder
		err := run(t.Context(), []string{"admin", "passwd", "-user", user, "-data", dir}, strings.NewReader(input), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	authenticate := func(user, password string) error {
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, sqlite.FileName))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ops, err := service.NewOperators(db, service.OperatorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ops.Authenticate(context.Background(), user, password)
		return err
	}

	if out, err := passwd("admin", "correct horse battery\r\n"); err != nil || !strings.Contains(out, "password set for admin") {
		t.Fatalf("set: %v\n%s", err, out)
	}
	if err := authenticate("admin", "correct horse battery"); err != nil {
		t.Fatalf("the password set: %v", err)
	}
	// A reset replaces it; spaces are part of a password.
	if _, err := passwd("admin", " a new  password "); err != nil {
		t.Fatal(err)
	}
	if err := authenticate("admin", " a new  password "); err != nil {
		t.Errorf("the reset password: %v", err)
	}
	if err := authenticate("admin", "correct horse battery"); !errors.Is(err, service.ErrBadLogin) {
		t.Errorf("the old password: %v", err)
	}

	for _, tc := range []struct {
		user, input, want string
		code              int
	}{
		{"admin", "", "no password on standard input", 1},
		{"admin", "\n", "no password on standard input", 1},
		{"admin", "short\n", "at least 10 characters", 1},
		{"admin", strings.Repeat("x", 80) + "\n", "at most 72 bytes", 1},
		{"admin", strings.Repeat("x", 5000), "too long", 1},
		{"", "long enough password\n", "-user NAME is required", 2},
		{"bad name", "long enough password\n", "user name", 2},
	} {
		_, err := passwd(tc.user, tc.input)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != tc.code {
			t.Errorf("user %q, input %.20q: %v (exit %d), want %q (exit %d)", tc.user, tc.input, err, exitCode(err), tc.want, tc.code)
		}
	}
	if err := authenticate("admin", " a new  password "); err != nil {
		t.Errorf("a refused change changed the password: %v", err)
	}
}

// An operator who locked themselves out at their own address resets the password with
// `admin passwd` and signs in with it from there at once: the running server sees the
// change in the database and forgets the account's blocks.
func TestAdminPasswdLiftsTheAccountsBlocks(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	e, _ := startAdmin(t, cfg)
	const ip = "198.51.100.1"
	for range 5 {
		signIn(t, e, "admin", "forgotten password", ip)
	}
	if rec := signIn(t, e, "admin", "forgotten password", ip); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("past the allowance: %d", rec.Code)
	}
	var out strings.Builder
	if err := run(t.Context(), []string{"admin", "passwd", "-user", "admin", "-data", cfg.DataDir},
		strings.NewReader("remembered at last\n"), &out, &out); err != nil {
		t.Fatalf("admin passwd: %v\n%s", err, out.String())
	}
	if rec := signIn(t, e, "admin", "remembered at last", ip); rec.Code != http.StatusSeeOther {
		t.Errorf("the new password from the blocked address: %d", rec.Code)
	}
}

// `admin passwd -user admin` sets a password someone chose: the first start's generated one
// need not be changed any more, and its file goes.
func TestAdminPasswdEndsTheGeneratedPassword(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	e, _ := startAdmin(t, cfg)
	path := filepath.Join(cfg.DataDir, "initial-admin-password")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the first start wrote no password file: %v", err)
	}
	var out strings.Builder
	if err := run(t.Context(), []string{"admin", "passwd", "-user", "admin", "-data", cfg.DataDir},
		strings.NewReader("one I chose myself\n"), &out, &out); err != nil {
		t.Fatalf("admin passwd: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the password file after admin passwd: %v", err)
	}
	if !strings.Contains(out.String(), "removed "+path) {
		t.Errorf("admin passwd does not say it removed the file:\n%s", out.String())
	}
	rec := signIn(t, e, "admin", "one I chose myself", "192.0.2.1")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin" {
		t.Errorf("signing in with the password set: %d to %q, want the dashboard", rec.Code, rec.Header().Get("Location"))
	}
}
