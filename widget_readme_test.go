package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeSection returns the text of README.md's section headed heading, up to the next
// section of the same level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no section %q", heading)
	}
	s = s[i+len(heading)+2:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

var fencedBlock = regexp.MustCompile("(?s)```(\\w*)\n(.*?)```")

// readmeProgram is the section's code block in lang that calls /siteverify.
func readmeProgram(t *testing.T, section, lang string) string {
	t.Helper()
	for _, m := range fencedBlock.FindAllStringSubmatch(section, -1) {
		if m[1] == lang && strings.Contains(m[2], "/siteverify") {
			return m[2]
		}
	}
	t.Fatalf("no %s block calling /siteverify in the README's widget section", lang)
	return ""
}

// solveOverHTTP solves a challenge of the English app as the widget does, without a
// browser, and returns the response token.
func (s *widgetServer) solveOverHTTP(t *testing.T) string {
	t.Helper()
	post := func(path string, body map[string]string) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.url+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://localhost:8000")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v %v", path, res.StatusCode, m, err)
		}
		return m
	}
	sitekey := s.en.app.AppKey
	c, _ := post("/widget/v1/challenge", map[string]string{"sitekey": sitekey})["challenge"].(string)
	r := post("/widget/v1/answer", map[string]string{"sitekey": sitekey, "challenge": c, "answer": s.answer(t, c)})
	token, _ := r["token"].(string)
	if token == "" {
		t.Fatalf("no token: %v", r)
	}
	return token
}

// requireProgram finds a program the README's examples need: a developer without it is
// told and skipped; CI, which installs it (.ci/run), fails.
func requireProgram(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; .ci/run should have installed %s", name, pkg)
	}
	t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	return ""
}

// The README's siteverify programs, copied from it as they are, verify a token once and
// refuse it the second time.
func TestReadmeSiteverifyExamples(t *testing.T) {
	section := readmeSection(t, "## Integrate the widget")
	captcha := startWidgetServer(t)
	cases := []struct {
		name, lang, file, program, pkg string
		args                           []string
	}{
		{"curl", "sh", "verify.sh", "bash", "curl", nil},
		{"python", "python", "verify.py", "python3", "python3", nil},
		{"node", "js", "verify.mjs", "node", "nodejs", nil},
		{"java", "java", "Verify.java", "java", "default-jdk-headless", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireProgram(t, c.program, c.pkg)
			if c.name == "curl" {
				requireProgram(t, "curl", "curl")
			}
			dir := t.TempDir()
			file := filepath.Join(dir, c.file)
			if err := os.WriteFile(file, []byte(readmeProgram(t, section, c.lang)), 0o644); err != nil {
				t.Fatal(err)
			}
			token := captcha.solveOverHTTP(t)
			run := func() (map[string]any, bool) {
				t.Helper()
				cmd := exec.Command(c.program, file, token)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "CAPTCHA_URL="+captcha.url, "CAPTCHA_SECRET="+captcha.en.secret, "TOKEN="+token)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if _, ok := err.(*exec.ExitError); err != nil && !ok {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(string(out)), "\n")
				var reply map[string]any
				if err := json.Unmarshal([]byte(lines[len(lines)-1]), &reply); err != nil {
					t.Fatalf("%s printed %q (%v)\n%s", c.file, out, err, stderr.String())
				}
				return reply, err == nil
			}
			reply, ok := run()
			if reply["success"] != true || (c.name != "curl" && !ok) {
				t.Errorf("first verification: %v (exit 0: %v)", reply, ok)
			}
			reply, ok = run()
			codes, _ := json.Marshal(reply["error-codes"])
			if reply["success"] != false || !strings.Contains(string(codes), "timeout-or-duplicate") || (c.name != "curl" && ok) {
				t.Errorf("second verification: %v (exit 0: %v)", reply, ok)
			}
		})
	}
}
