// Package browsertest starts Debian's chromium, headless, for the tests that drive the real
// server through a real browser, and waits on what its pages show. Without a browser the
// tests skip, except under CI (CI=true), where .ci/run installs one. The admin UI's tests
// and the widget's use it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Find returns the chromium to use, or skips (fails under CI) without one.
func Find(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CAPTCHA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH under CI: .ci/run should have installed Debian's chromium")
	}
	t.Skip("skipping the browser tests: no chromium on PATH (apt-get install chromium, or set CAPTCHA_CHROMIUM)")
	return ""
}

// New starts a headless chromium with a fresh profile and returns the context of its first
// tab, which ends with the test. Background networking and component updates are off: on a
// closed network chromium otherwise stalls on them. extra adds or overrides flags.
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := Find(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		// A challenge's sound plays without a click of the test's own.
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
	opts = append(opts, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return bctx
}

// WaitJS evaluates a JavaScript condition until it is true, across page loads (a poll
// inside the page would end with the page); it fails the test with what the page shows
// after half a minute, which leaves room for a CI machine busy with the race detector.
func WaitJS(t testing.TB, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
	t.Fatalf("waiting for %s at %s (last error: %v)\npage: %s", what, loc, err, body)
}

// Eval evaluates expr in the page and returns its value, failing the test on an error.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %.80q: %v", expr, err)
	}
	return v
}

// Do runs steps, failing the test with what on an error.
func Do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Screenshot returns a PNG of the element sel matches (a CSS selector), at scale times the
// page's own pixels.
func Screenshot(t testing.TB, ctx context.Context, sel string, scale float64) []byte {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.CSS(sel), scale))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", sel, err)
	}
	return png
}
