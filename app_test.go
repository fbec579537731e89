package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// runCLI runs the command line as main does and returns what it printed.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	stdout, _, err := runCLIBoth(t, args...)
	return stdout, err
}

// runCLIBoth also returns what went to standard error.
func runCLIBoth(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestAppCommands(t *testing.T) {
	t.Setenv("CAPTCHA_CONFIG", "")
	data := t.TempDir()
	out, err := runCLI(t, "app", "create", "-name", "shop", "-api", "naver", "-attempts", "3", "-lifetime", "2m", "-charset", "hangul", "-data", data)
	if err != nil {
		t.Fatal(err)
	}
	var appKey, secret string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "appkey: "); ok {
			appKey = v
		}
		if v, ok := strings.CutPrefix(line, "secret: "); ok {
			secret = v
		}
	}
	if len(appKey) != 32 || len(secret) < 40 {
		t.Fatalf("create printed %q", out)
	}
	list, err := runCLI(t, "app", "list", "-data", data)
	if err != nil || !strings.Contains(list, appKey) || !strings.Contains(list, "shop") || !strings.Contains(list, "hangul") ||
		!strings.Contains(list, " API ") || !strings.Contains(list, " naver ") ||
		!strings.Contains(list, "2m0s") || strings.Contains(list, secret) {
		t.Fatalf("list: %v\n%s", err, list)
	}
	if out, err := runCLI(t, "app", "disable", appKey, "-data", data); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("disable: %v %q", err, out)
	}
	if list, _ := runCLI(t, "app", "list", "-data", data); !strings.Contains(list, "false") {
		t.Fatalf("list after disable:\n%s", list)
	}
	if _, err := runCLI(t, "app", "enable", "-data", data, appKey); err != nil {
		t.Fatalf("enable with the appkey after the flags: %v", err)
	}
	if out, err := runCLI(t, "app", "set-api", "-data", data, appKey, "nhn"); err != nil || !strings.Contains(out, "nhn") {
		t.Fatalf("set-api: %v %q", err, out)
	}
	if list, _ := runCLI(t, "app", "list", "-data", data); !strings.Contains(list, " nhn ") || strings.Contains(list, " naver ") {
		t.Fatalf("list after set-api:\n%s", list)
	}
	if _, err := runCLI(t, "app", "delete", appKey, "-data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "app", "delete", appKey, "-data", data); err == nil || !strings.Contains(err.Error(), "no application") {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestAppCommandMistakes(t *testing.T) {
	t.Setenv("CAPTCHA_CONFIG", "")
	data := t.TempDir()
	for _, args := range [][]string{
		{"app"},
		{"app", "frobnicate"},
		{"app", "create", "-data", data},
		{"app", "create", "-name", "x", "-api", "nhn", "-attempts", "6", "-data", data},
		{"app", "create", "-name", "x", "-api", "nhn", "-lifetime", "3h", "-data", data},
		{"app", "create", "-name", "x", "-api", "nhn", "-charset", "hangul", "-lang", "en", "-data", data},
		{"app", "disable", "-data", data},
		{"app", "disable", "a", "b", "-data", data},
		{"app", "set-api", "0123456789abcdef0123456789abcdef", "-data", data},
	} {
		_, err := runCLI(t, args...)
		var u *usageError
		if !errors.As(err, &u) {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
	// The API must be chosen, among the ones there are, and the message names them.
	for _, args := range [][]string{
		{"app", "create", "-name", "x", "-data", data},
		{"app", "create", "-name", "x", "-api", "recaptcha", "-data", data},
		{"app", "create", "-name", "x", "-api", "NHN", "-data", data},
		{"app", "set-api", "0123456789abcdef0123456789abcdef", "recaptcha", "-data", data},
	} {
		_, err := runCLI(t, args...)
		var u *usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), "nhn") || !strings.Contains(err.Error(), "naver") ||
			!strings.Contains(err.Error(), "-api") && !strings.Contains(err.Error(), "API") {
			t.Errorf("%v: got %v, want a usage error naming nhn and naver", args, err)
		}
	}
	// A setting out of range is named by its flag.
	for flag, args := range map[string][]string{
		"-length":               {"-length", "9"},
		"-escalate-min-answers": {"-escalate-min-answers", "0"},
		"-escalate-bad-percent": {"-escalate-bad-percent", "101"},
		"-fast-solve":           {"-fast-solve", "1050ms"},
	} {
		_, err := runCLI(t, append([]string{"app", "create", "-name", "x", "-api", "nhn", "-data", data}, args...)...)
		var u *usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), flag+":") || !strings.Contains(err.Error(), "allowed") {
			t.Errorf("%v: got %v, want a usage error naming %s", args, err, flag)
		}
	}
	if list, _ := runCLI(t, "app", "list", "-data", data); strings.Count(list, "\n") != 1 {
		t.Errorf("refused commands made apps:\n%s", list)
	}
}

// app create takes the escalation policy; app list shows it.
func TestAppCreateEscalationFlags(t *testing.T) {
	t.Setenv("CAPTCHA_CONFIG", "")
	data := t.TempDir()
	if _, err := runCLI(t, "app", "create", "-name", "off", "-api", "nhn", "-escalate=false", "-data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "app", "create", "-name", "strict", "-api", "nhn", "-escalate-min-answers", "3",
		"-escalate-bad-percent", "60", "-fast-solve", "1.5s", "-data", data); err != nil {
		t.Fatal(err)
	}
	list, err := runCLI(t, "app", "list", "-data", data)
	if err != nil || !strings.Contains(list, " ESCALATE ") || !strings.Contains(list, " off ") || !strings.Contains(list, " 3,60%,<1.5s ") {
		t.Fatalf("list: %v\n%s", err, list)
	}
}

// app create warns, with the odds, about settings that let a blind guess pass more often
// than once in 100,000 keys, and creates the app all the same.
func TestAppCreateWarnsAboutWeakSettings(t *testing.T) {
	t.Setenv("CAPTCHA_CONFIG", "")
	data := t.TempDir()
	for _, tc := range []struct {
		args []string
		odds string // "" for no warning
	}{
		{[]string{"-charset", "digits", "-length", "4", "-attempts", "5"}, "about 1 in 2,000 keys"},
		{[]string{"-charset", "alnum", "-length", "4", "-attempts", "5"}, "about 1 in 56,000 keys"},
		{[]string{"-charset", "digits", "-length", "5"}, ""}, // exactly once in 100,000
		{nil, ""},
	} {
		args := append([]string{"app", "create", "-name", "shop", "-api", "nhn", "-data", data}, tc.args...)
		stdout, stderr, err := runCLIBoth(t, args...)
		if err != nil || !strings.Contains(stdout, "appkey: ") {
			t.Fatalf("%v: %v %q", tc.args, err, stdout)
		}
		warned := strings.Contains(stderr, "weak settings")
		if warned != (tc.odds != "") || !strings.Contains(stderr, tc.odds) ||
			warned && !strings.Contains(stderr, "more often than once in 100,000") {
			t.Errorf("%v: stderr %q, want the odds %q", tc.args, stderr, tc.odds)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 2000: "2,000", 100000: "100,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := groupThousands(n); got != want {
			t.Errorf("groupThousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// A widget app is created with its hostnames and shows its site key and secret; its hosts
// change with set-hostnames, and list shows them.
func TestAppCommandsForTheWidget(t *testing.T) {
	t.Setenv("CAPTCHA_CONFIG", "")
	data := t.TempDir()
	out, err := runCLI(t, "app", "create", "-name", "shop", "-api", "widget", "-hostnames", "A.example,b.example",
		"-token-lifetime", "2m", "-data", data)
	if err != nil {
		t.Fatal(err)
	}
	var siteKey string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "sitekey: "); ok {
			siteKey = v
		}
	}
	if len(siteKey) != 32 || !strings.Contains(out, "\nsecret: ") || !strings.Contains(out, "hostnames: a.example,b.example") {
		t.Fatalf("create printed %q", out)
	}
	out, err = runCLI(t, "app", "list", "-data", data)
	if err != nil || !strings.Contains(out, "HOSTNAMES") || !strings.Contains(out, "a.example,b.example") {
		t.Fatalf("list: %q, %v", out, err)
	}
	if out, err = runCLI(t, "app", "set-hostnames", siteKey, "c.example", "-data", data); err != nil || !strings.Contains(out, "c.example") {
		t.Fatalf("set-hostnames: %q, %v", out, err)
	}
	if out, err = runCLI(t, "app", "set-hostnames", siteKey, "", "-data", data); err != nil || !strings.Contains(out, "any") {
		t.Fatalf("set-hostnames to any: %q, %v", out, err)
	}
	if out, _ := runCLI(t, "app", "list", "-data", data); !strings.Contains(out, " any ") {
		t.Errorf("list after clearing: %q", out)
	}

	var u *usageError
	for _, args := range [][]string{
		{"app", "create", "-name", "x", "-api", "nhn", "-hostnames", "a.example", "-data", data},
		{"app", "create", "-name", "x", "-api", "widget", "-hostnames", "https://a.example", "-data", data},
		{"app", "create", "-name", "x", "-api", "widget", "-token-lifetime", "5s", "-data", data},
		{"app", "set-hostnames", siteKey, "a b/c", "-data", data},
		{"app", "set-hostnames", "-data", data},
	} {
		if _, err := runCLI(t, args...); !errors.As(err, &u) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	nhn, err := runCLI(t, "app", "create", "-name", "n", "-api", "nhn", "-data", data)
	if err != nil {
		t.Fatal(err)
	}
	nhnKey := strings.TrimPrefix(strings.Split(nhn, "\n")[2], "appkey: ")
	if _, err := runCLI(t, "app", "set-hostnames", nhnKey, "a.example", "-data", data); err == nil || !strings.Contains(err.Error(), "no widget") {
		t.Errorf("set-hostnames of an NHN app: %v", err)
	}
}
