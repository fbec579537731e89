package main

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"captcha/engine"
	"captcha/engine/service"
)

func TestGenWritesNamedChallenges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"gen", "-n", "12", "-out", dir, "-difficulty", "hard", "-length", "5",
		"-width", "200", "-height", "60"}, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 12 {
		t.Fatalf("wrote %d files, want 12", len(entries))
	}
	name := regexp.MustCompile(`^\d{4}_[ACEGHJKMNPRSTUWXY236789]{5}\.jpg$`)
	for i, e := range entries {
		if !name.MatchString(e.Name()) || !strings.HasPrefix(e.Name(), fmt.Sprintf("%04d_", i)) {
			t.Errorf("file name %q", e.Name())
		}
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width != 200 || cfg.Height != 60 {
			t.Errorf("%s: %v %+v", e.Name(), err, cfg)
		}
	}
}

func TestGenRejectsBadOptions(t *testing.T) {
	for _, args := range [][]string{
		{"gen", "-n", "1"}, // no -out
		{"gen", "-n", "0", "-out", t.TempDir()},
		{"gen", "-out", t.TempDir(), "-charset", "latin"},
		{"gen", "-out", t.TempDir(), "-width", "5000"},
		{"gen", "-out", t.TempDir(), "-charset", "hangul", "-lang", "en"},
	} {
		var out, errOut strings.Builder
		err := run(t.Context(), args, strings.NewReader(""), &out, &errOut)
		if exitCode(err) != 2 {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}

func TestGenStyles(t *testing.T) {
	gen := func(args ...string) (string, error) {
		var out, errOut strings.Builder
		err := run(t.Context(), append([]string{"gen", "-n", "2"}, args...), strings.NewReader(""), &out, &errOut)
		return out.String(), err
	}
	// A random style prints its key, and drawing with that key again is the same style.
	out, err := gen("-out", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`style ([0-9a-f]{8}) \(-style ([0-9a-f]{64})\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("gen printed %q, want the style's id and key", out)
	}
	again, err := gen("-out", t.TempDir(), "-style", m[2])
	if err != nil || !strings.Contains(again, "style "+m[1]) || strings.Contains(again, m[2]) {
		t.Fatalf("gen -style KEY printed %q (%v), want style %s without its key", again, err, m[1])
	}
	if out, err := gen("-out", t.TempDir(), "-styles", "3"); err != nil || strings.Count(out, "-style ") != 3 {
		t.Fatalf("-styles 3 printed %q (%v)", out, err)
	}

	// A server's style: the one its secret gives, and the key is never printed.
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	_, db, err := openService(t.Context(), cfg, false, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := db.ServerSecret(t.Context())
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := engine.StyleFromSecret(secret)
	out, err = gen("-out", t.TempDir(), "-style", "server", "-data", cfg.DataDir)
	if err != nil || !strings.HasPrefix(out, "style "+want.ID()+"\n") || strings.Contains(out, want.Secret()) {
		t.Fatalf("gen -style server printed %q (%v), want style %s", out, err, want.ID())
	}

	for _, args := range [][]string{
		{"-out", t.TempDir(), "-style", "server", "-data", t.TempDir()}, // no database there
		{"-out", t.TempDir(), "-style", "zz"},
		{"-out", t.TempDir(), "-styles", "0"},
		{"-out", t.TempDir(), "-styles", "1001"},
		{"-out", t.TempDir(), "-styles", "2", "-style", m[2]},
	} {
		if _, err := gen(args...); exitCode(err) != 2 {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}
