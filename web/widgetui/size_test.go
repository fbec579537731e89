package widgetui_test

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"testing"

	"captcha/web/widgetui"
)

// maxGzipped is the budget for everything the widget loads besides the challenge's
// image and sound: a site pays it on every page with a form.
const maxGzipped = 20 << 10

// The widget's files, gzipped one by one as a server or proxy would send them, fit the
// budget together.
func TestWidgetFitsItsBudget(t *testing.T) {
	total := 0
	err := fs.WalkDir(widgetui.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(widgetui.FS, name)
		if err != nil {
			return err
		}
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		w.Write(b)
		w.Close()
		t.Logf("%s: %d bytes, %d gzipped", name, len(b), z.Len())
		total += z.Len()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("all: %d bytes gzipped, budget %d", total, maxGzipped)
	if total > maxGzipped {
		t.Errorf("the widget's files are %d bytes gzipped, over the budget of %d", total, maxGzipped)
	}
}

// Both files the widget needs are there; a rename would otherwise show only in a browser.
func TestWidgetFiles(t *testing.T) {
	for _, name := range []string{"api.js", "widget.css"} {
		if b, err := fs.ReadFile(widgetui.FS, name); err != nil || len(b) == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The script keeps to what a page with a strict Content-Security-Policy allows (script-src
// and style-src of the CAPTCHA's origin alone), and loads from no other origin. The browser
// test proves it on one page; this names the constructs that would break it anywhere.
func TestWidgetScriptNeedsNoUnsafeCSP(t *testing.T) {
	b, err := fs.ReadFile(widgetui.FS, "api.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"eval(", "new Function", "Function(", "innerHTML", "outerHTML", "insertAdjacentHTML",
		"document.write", `setAttribute("style"`, "cssText", "Worker(", "blob:", "data:", "javascript:", "importScripts",
		"https://", "http://localhost"} {
		if bytes.Contains(b, []byte(banned)) {
			t.Errorf("api.js uses %q", banned)
		}
	}
	// The one absolute URL is SVG's namespace, which loads nothing.
	if n := bytes.Count(b, []byte("http://")); n != 1 || !bytes.Contains(b, []byte(`"http://www.w3.org/2000/svg"`)) {
		t.Errorf("api.js names %d absolute http:// URLs; only the SVG namespace is expected", n)
	}
}
