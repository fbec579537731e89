package web_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireTool finds a program the example programs need: a developer without it is told
// and skipped; CI, which installs it (.ci/run), fails.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; .ci/run should have installed it", name)
	}
	t.Skipf("%s is not installed: skipping the documents' example programs (apt-get install %s)", name, name)
	return ""
}

// runExample runs one example program in dir with env added and returns what it printed.
func runExample(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append(env, "PYTHONIOENCODING=utf-8")...)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, out, stderr)
	}
	return string(out)
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// lastJSON decodes the last line of out, where the examples print the reply.
func lastJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	return m
}

// TestNaverPythonExamples runs the Naver document's three Python 3 programs, pointed at this
// server, through a whole flow.
func TestNaverPythonExamples(t *testing.T) {
	python := requireTool(t, "python3")
	h := newNaverHarness(t)
	dir := t.TempDir()
	env := []string{"NAVER_API_BASE=" + h.url, "NAVER_CLIENT_ID=" + h.app.AppKey, "NAVER_CLIENT_SECRET=" + h.secret}

	key, _ := lastJSON(t, runExample(t, dir, env, python, testdata(t, "naver_nkey.py")))["key"].(string)
	if key == "" {
		t.Fatal("no key issued")
	}
	env = append(env, "NAVER_CAPTCHA_KEY="+key)
	if out := runExample(t, dir, env, python, testdata(t, "naver_image.py")); !strings.Contains(out, "캡차 이미지 저장") {
		t.Fatalf("image example printed %q", out)
	}
	if img, err := os.ReadFile(filepath.Join(dir, "captcha.jpg")); err != nil || !isJPEG(img) {
		t.Fatalf("captcha.jpg: %v", err)
	}
	env = append(env, "NAVER_CAPTCHA_VALUE="+h.answer(key))
	reply := lastJSON(t, runExample(t, dir, env, python, testdata(t, "naver_compare.py")))
	if reply["result"] != true {
		t.Fatalf("compare: %v", reply)
	}
	if _, ok := reply["responseTime"].(float64); !ok {
		t.Fatalf("compare: %v", reply)
	}
}

// TestNaverCurlExamples runs the Naver document's curl requests through a whole flow,
// including a wrong answer's reply.
func TestNaverCurlExamples(t *testing.T) {
	requireTool(t, "curl")
	h := newNaverHarness(t)
	dir := t.TempDir()
	script := testdata(t, "naver_curl.sh")
	env := []string{"NAVER_API_BASE=" + h.url, "NAVER_CLIENT_ID=" + h.app.AppKey, "NAVER_CLIENT_SECRET=" + h.secret}
	issue := func() string {
		key, _ := lastJSON(t, runExample(t, dir, env, "sh", script, "nkey"))["key"].(string)
		if key == "" {
			t.Fatal("no key issued")
		}
		return key
	}
	key := issue()
	run := func(key, value, step string) string {
		return runExample(t, dir, append(env, "NAVER_CAPTCHA_KEY="+key, "NAVER_CAPTCHA_VALUE="+value), "sh", script, step)
	}
	run(key, "", "image")
	if img, err := os.ReadFile(filepath.Join(dir, "image.jpg")); err != nil || !isJPEG(img) {
		t.Fatalf("image.jpg: %v", err)
	}
	if reply := lastJSON(t, run(key, h.answer(key), "compare")); reply["result"] != true {
		t.Fatalf("compare: %v", reply)
	}
	// The document's own example value, wrong for any key of ours.
	key = issue()
	run(key, "", "image")
	if reply := lastJSON(t, run(key, "1PUNUST", "compare")); reply["result"] != false {
		t.Fatalf("wrong value: %v", reply)
	}
	if reply := lastJSON(t, run(key, h.answer(key), "compare")); reply["errorCode"] != "CT001" {
		t.Fatalf("used key: %v", reply)
	}
}

// TestNHNCurlExamples runs the NHN document's requests as curl commands.
func TestNHNCurlExamples(t *testing.T) {
	requireTool(t, "curl")
	h := newHarness(t)
	dir := t.TempDir()
	script := testdata(t, "nhn_curl.sh")
	env := []string{"NHN_API_BASE=" + h.url, "NHN_APPKEY=" + h.app.AppKey}
	run := func(key, answer, step string) map[string]any {
		out := runExample(t, dir, append(env, "NHN_KEY="+key, "NHN_ANSWER="+answer), "sh", script, step)
		if step == "image" || step == "sound" {
			return nil
		}
		return lastJSON(t, out)
	}
	code := func(reply map[string]any) float64 {
		header, _ := reply["header"].(map[string]any)
		c, _ := header["resultCode"].(float64)
		return c
	}
	key, _ := run("", "", "issue")["key"].(string)
	if key == "" {
		t.Fatal("no key issued")
	}
	run(key, "", "image")
	run(key, "", "sound")
	if img, _ := os.ReadFile(filepath.Join(dir, "image.jpg")); !isJPEG(img) {
		t.Fatal("image.jpg is not a JPEG")
	}
	if wav, _ := os.ReadFile(filepath.Join(dir, "sound.wav")); !isWAV(wav) {
		t.Fatal("sound.wav is not a WAV")
	}
	if c := code(run(key, "EAKJH", "verify")); c != -6 { // the document's example answer
		t.Fatalf("wrong answer: code %v", c)
	}
	key, _ = run("", "", "issue")["key"].(string)
	if c := code(run(key, h.answer(key), "verify")); c != 0 {
		t.Fatalf("right answer: code %v", c)
	}
	key, _ = run("", "", "issue")["key"].(string)
	if c := code(run(key, "", "expire")); c != 0 {
		t.Fatalf("expire: code %v", c)
	}
	if c := code(run(key, h.answer(key), "verify")); c != -5 {
		t.Fatalf("verify after expire: code %v", c)
	}
}
