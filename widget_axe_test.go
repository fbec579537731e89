package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"captcha/internal/browsertest"
)

// axeTags are the rules run on the widget: WCAG 2.0, 2.1 and 2.2 at levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// axeResult is what the test keeps of an axe-core run.
type axeResult struct {
	Violations []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	Passes     []string
	Incomplete []string
}

// axeRun runs axe-core, injected by the test (the page's CSP would refuse it as a script of
// another origin, and no page of a site would load it), on the widget.
func axeRun(t *testing.T, ctx context.Context, axe string) axeResult {
	t.Helper()
	if !browsertest.Eval[bool](t, ctx, `typeof axe === "object"`) {
		browsertest.Eval[bool](t, ctx, axe+"\n;true")
	}
	tags := `["` + strings.Join(axeTags, `","`) + `"]`
	return browsertest.Eval[axeResult](t, ctx, `axe.run(document.querySelector(".cw"), {runOnly: {type: "tag", values: `+tags+`}, preload: false})
		.then((r) => ({
			violations: r.violations.map((v) => ({id: v.id, impact: v.impact || "", help: v.help,
				nodes: v.nodes.map((n) => n.html + ": " + n.failureSummary)})),
			passes: r.passes.map((p) => p.id),
			incomplete: r.incomplete.map((i) => i.id),
		}))`)
}

// The widget has no violation of axe-core's WCAG 2.2 A and AA rules, in both languages and
// both themes (data-theme, and auto under a dark preference), in each of its states: a
// challenge, a wrong answer's message, solved.
func TestWidgetAccessibility(t *testing.T) {
	axe, err := os.ReadFile("testdata/axe-core/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	captcha := startWidgetServer(t)
	site := startWidgetSite(t, captcha)
	b := newWidgetBrowser(t)
	screenshots := os.Getenv("CAPTCHA_SCREENSHOTS") == "1"
	cases := []struct {
		name, query, screenshot string
		dark                    bool
	}{
		{"en light", "/?lang=en", "widget-en.png", false},
		{"en dark", "/?lang=en&theme=dark", "widget-en-dark.png", false},
		{"ko light", "/?lang=ko&app=ko", "widget-ko.png", false},
		{"ko dark", "/?lang=ko&app=ko&theme=dark", "", false},
		{"ko compact auto, dark preferred", "/?lang=ko&app=ko&theme=auto&size=compact", "widget-ko-compact-dark.png", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			scheme := "light"
			if c.dark {
				scheme = "dark"
			}
			browsertest.Do(t, b.ctx, "prefer "+scheme, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
					Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
				return err
			}))
			b.open(t, site.url+c.query)
			if screenshots && c.screenshot != "" {
				saveWidgetScreenshot(t, b.ctx, c.screenshot)
			}
			check := func(state string) {
				t.Helper()
				r := axeRun(t, b.ctx, string(axe))
				for _, v := range r.Violations {
					t.Errorf("%s: %s (%s): %s\n  %s", state, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
				}
				t.Logf("%s, %s: %d rules passed, %d violated, to review: %v\n  passed: %v", c.name, state, len(r.Passes), len(r.Violations), r.Incomplete, r.Passes)
			}
			check("challenge")
			old := b.challenge(t)
			b.answerByMouse(t, "WRONG9")
			b.newChallenge(t, old)
			browsertest.WaitJS(t, b.ctx, "the message", `document.querySelector(".cw-msg.cw-bad").textContent !== ""`)
			check("wrong answer")
			b.answerByMouse(t, captcha.answer(t, b.challenge(t)))
			browsertest.WaitJS(t, b.ctx, "the solved widget", widgetSolved)
			check("solved")
			if got := b.eval(t, `getComputedStyle(document.querySelector(".cw")).backgroundColor`); (got == "rgb(28, 33, 40)") != (c.dark || strings.Contains(c.query, "theme=dark")) {
				t.Errorf("the widget's background is %s", got)
			}
		})
	}
	b.clean(t, site)
}
