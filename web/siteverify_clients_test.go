package web_test

import (
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two verification client libraries of the reCAPTCHA/Turnstile convention, from the npm
// registry and unmodified (web/testdata/siteverify-clients: package.json and its lock pin
// them; .ci/run installs them with npm ci), verify tokens of this server by being pointed at
// its /siteverify: cf-turnstile (Turnstile's convention, its apiUrl option) and
// node-grecaptcha-verify (reCAPTCHA v3's, GOOGLE_RECAPTCHA_V3_VERIFY_API_URL, HTTPS only:
// it is given the server over TLS, with the test's certificate trusted). Each passes a
// token once and refuses the replay.
func TestSiteverifyThroughClientLibraries(t *testing.T) {
	node := requireTool(t, "node")
	dir := testdata(t, "siteverify-clients")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the client libraries are not installed; .ci/run should have run npm ci in " + dir)
		}
		t.Skip("the client libraries are not installed: npm ci --prefix web/testdata/siteverify-clients")
	}
	h := newWidgetHarness(t)
	tlsServer := httptest.NewTLSServer(h.handler)
	t.Cleanup(tlsServer.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsServer.Certificate().Raw})
	if err := os.WriteFile(ca, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"NODE_EXTRA_CA_CERTS=" + ca}

	for _, tc := range []struct{ library, url string }{
		{"cf-turnstile", h.url + "/siteverify"},
		{"node-grecaptcha-verify", tlsServer.URL + "/siteverify"},
	} {
		t.Run(tc.library, func(t *testing.T) {
			token := h.solve(h.app, map[string]string{"action": "signup"})
			run := func() map[string]any {
				t.Helper()
				out := runExample(t, dir, env, node, "verify.js", tc.library, tc.url, h.secret, token)
				var m map[string]any
				if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &m); err != nil {
					t.Fatalf("%q: %v", out, err)
				}
				return m
			}
			if m := run(); m["success"] != true || m["action"] != "signup" {
				t.Fatalf("first verification: %v", m)
			}
			if m := run(); m["success"] != false || !strings.Contains(strings.Join(toStrings(m["errors"]), ","), "timeout-or-duplicate") {
				t.Fatalf("replay: %v", m)
			}
		})
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestWidgetSiteverifyCurlExamples runs the README's curl call of /siteverify: a token
// passes, then its replay is a duplicate.
func TestWidgetSiteverifyCurlExamples(t *testing.T) {
	requireTool(t, "curl")
	h := newWidgetHarness(t)
	token := h.solve(h.app, nil)
	env := []string{"CAPTCHA_BASE=" + h.url, "CAPTCHA_SECRET=" + h.secret, "TOKEN_FROM_THE_FORM=" + token}
	script := testdata(t, "widget_siteverify_curl.sh")
	if m := lastJSON(t, runExample(t, t.TempDir(), env, "sh", script)); m["success"] != true || m["hostname"] != "shop.example" {
		t.Fatalf("first: %v", m)
	}
	if m := lastJSON(t, runExample(t, t.TempDir(), env, "sh", script)); m["success"] != false || codes(m) != "timeout-or-duplicate" {
		t.Fatalf("replay: %v", m)
	}
}
