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
