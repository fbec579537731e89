package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"captcha/engine/service"
)

func newOperators(t *testing.T) (*service.Operators, *fixture) {
	t.Helper()
	f := newFixture(t)
	ops, err := service.NewOperators(f.db, service.OperatorOptions{Now: f.clock.Now, PasswordCost: bcrypt.MinCost, SessionLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return ops, f
}

func TestFirstOperatorIsCreatedOnce(t *testing.T) {
	ops, _ := newOperators(t)
	ctx := context.Background()
	password, created, err := ops.EnsureFirstOperator(ctx)
	if err != nil || !created || len(password) < service.MinPasswordLength {
		t.Fatalf("first: %q %v %v", password, created, err)
	}
	if _, err := ops.Authenticate(ctx, service.FirstOperatorName, password); err != nil {
		t.Fatalf("the printed password: %v", err)
	}
	// The generated password must be changed: the session says so until it is.
	token, s, err := ops.Login(ctx, service.FirstOperatorName, password)
	if err != nil || !s.MustChangePassword {
		t.Errorf("signed in with the generated password: %+v, %v", s, err)
	}
	if s, err := ops.Session(ctx, token); err != nil || !s.MustChangePassword {
		t.Errorf("the session read back: %+v, %v", s, err)
	}
	again, created, err := ops.EnsureFirstOperator(ctx)
	if err != nil || created || again != "" {
		t.Fatalf("second: %q %v %v", again, created, err)
	}
	if _, err := ops.Authenticate(ctx, service.FirstOperatorName, password); err != nil {
		t.Fatalf("the first password after a restart: %v", err)
	}
	if err := ops.ChangePassword(ctx, s, password, "one I chose myself"); err != nil {
		t.Fatal(err)
	}
	token, _, err = ops.Login(ctx, service.FirstOperatorName, "one I chose myself")
	if s, serr := ops.Session(ctx, token); err != nil || serr != nil || s.MustChangePassword {
		t.Errorf("after choosing a password: %+v, %v, %v", s, err, serr)
	}
}

// An operator created from the command line before the first start means no admin account.
func TestNoFirstOperatorWhenOneExists(t *testing.T) {
	ops, _ := newOperators(t)
	ctx := context.Background()
	if err := ops.SetPassword(ctx, "alice", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if _, created, err := ops.EnsureFirstOperator(ctx); err != nil || created {
		t.Fatalf("created %v, %v", created, err)
	}
}

func TestLoginAndSessions(t *testing.T) {
	ops, f := newOperators(t)
	ctx := context.Background()
	if err := ops.SetPassword(ctx, "alice", "correct horse"); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string][2]string{
		"wrong password": {"alice", "correct horsE"},
		"unknown user":   {"bob", "correct horse"},
		"empty":          {"", ""},
		"overlong":       {"alice", strings.Repeat("x", 100)},
	} {
		if _, _, err := ops.Login(ctx, tc[0], tc[1]); !errors.Is(err, service.ErrBadLogin) {
			t.Errorf("%s: %v", name, err)
		}
	}
	token, s, err := ops.Login(ctx, "alice", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.CSRFToken) < 40 || s.OperatorName != "alice" {
		t.Errorf("session %+v", s)
	}
	got, err := ops.Session(ctx, token)
	if err != nil || got.OperatorID != s.OperatorID || got.CSRFToken != s.CSRFToken {
		t.Fatalf("session by token: %+v %v", got, err)
	}
	for _, bad := range []string{"", token[:len(token)-1], token[:len(token)-1] + "A", "'; --"} {
		if bad == token {
			continue
		}
		if _, err := ops.Session(ctx, bad); !errors.Is(err, service.ErrNoSession) {
			t.Errorf("token %q: %v", bad, err)
		}
	}

	// Sessions expire.
	f.clock.Advance(time.Hour)
	if _, err := ops.Session(ctx, token); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("after its lifetime: %v", err)
	}
	if n, err := ops.DeleteExpiredSessions(ctx); err != nil || n != 1 {
		t.Errorf("deleted %d expired sessions: %v", n, err)
	}

	// Logout ends one session; a password reset ends all of them.
	t1, s1, _ := ops.Login(ctx, "alice", "correct horse")
	t2, _, _ := ops.Login(ctx, "alice", "correct horse")
	if err := ops.Logout(ctx, s1); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Session(ctx, t1); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("after logout: %v", err)
	}
	if _, err := ops.Session(ctx, t2); err != nil {
		t.Errorf("the other session after logout: %v", err)
	}
	if err := ops.SetPassword(ctx, "alice", "battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Session(ctx, t2); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("after a password reset: %v", err)
	}
	if _, _, err := ops.Login(ctx, "alice", "correct horse"); !errors.Is(err, service.ErrBadLogin) {
		t.Errorf("the old password: %v", err)
	}
}

func TestPasswordRules(t *testing.T) {
	ops, _ := newOperators(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, password string
		want           error
	}{
		{"alice", "", service.ErrPasswordTooShort},
		{"alice", "short", service.ErrPasswordTooShort},
		{"alice", "비밀번호는열자가", service.ErrPasswordTooShort}, // 8 characters, 24 bytes
		{"alice", strings.Repeat("x", 73), service.ErrPasswordTooLong},
		{"", "long enough password", service.ErrOperatorNameInvalid},
		{"al ice", "long enough password", service.ErrOperatorNameInvalid},
		{"alice", "비밀번호는열자이상이다", nil},
	} {
		if err := ops.SetPassword(ctx, tc.name, tc.password); !errors.Is(err, tc.want) {
			t.Errorf("%q/%q: got %v, want %v", tc.name, tc.password, err, tc.want)
		}
	}
}

func TestChangePassword(t *testing.T) {
	ops, _ := newOperators(t)
	ctx := context.Background()
	ops.SetPassword(ctx, "alice", "correct horse")
	token, s, _ := ops.Login(ctx, "alice", "correct horse")
	if err := ops.ChangePassword(ctx, s, "wrong one!!", "battery staple"); !errors.Is(err, service.ErrBadLogin) {
		t.Errorf("wrong current password: %v", err)
	}
	if err := ops.ChangePassword(ctx, s, "correct horse", "short"); !errors.Is(err, service.ErrPasswordTooShort) {
		t.Errorf("short new password: %v", err)
	}
	if err := ops.ChangePassword(ctx, s, "correct horse", "battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Session(ctx, token); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("the session that changed it: %v", err)
	}
	if _, err := ops.Authenticate(ctx, "alice", "battery staple"); err != nil {
		t.Error(err)
	}
}
