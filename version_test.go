package main

import (
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	var out, errOut strings.Builder
	if err := run(t.Context(), []string{"version"}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "captcha "+buildVersion()+" (go") {
		t.Fatalf("version printed %q", out.String())
	}
}
