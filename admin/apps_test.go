package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/jpeg"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"captcha/engine/service"
)

func validAppForm(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "name": {"shop"}, "api": {"naver"}, "charset": {"alnum"}, "length": {"6"}, "difficulty": {"normal"},
		"width": {"240"}, "height": {"80"}, "lang": {"en"}, "lifetime": {"600"}, "attempts": {"1"},
		"escalate": {"1"}, "escalate_min_answers": {"5"}, "escalate_bad_percent": {"70"}, "fast_solve": {"1"}}
}

var (
	secretShown = regexp.MustCompile(`<code id="secret" class="secret">([^<]+)</code>`)
	appKeyShown = regexp.MustCompile(`<code id="appkey">([0-9a-f]{32})</code>`)
)

// fieldError returns the text next to a field, or "".
func fieldError(body, field string) string {
	m := regexp.MustCompile(`<p class="field-error" id="err-` + field + `">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// An invalid value is refused with the reason next to its field, and nothing is written.
func TestCreateAppRefusesInvalidSettings(t *testing.T) {
	v := newEnv(t)
	cookies, csrf := v.session()
	for _, tc := range []struct {
		field, value, reason string
	}{
		{"name", "", "1 to 100 printable characters"},
		{"name", strings.Repeat("x", 101), "1 to 100 printable characters"},
		{"api", "", "nhn, naver, widget"},
		{"api", "recaptcha", "nhn, naver, widget"},
		{"api", "NHN", "nhn, naver, widget"},
		{"charset", "emoji", "alnum, digits, hangul"},
		{"length", "9", "4 to 8"},
		{"length", "six", "Enter a whole number"},
		{"length", "99999999999999999999", "4 to 8"},
		{"length", "4.5", "Enter a whole number"},
		{"difficulty", "brutal", "easy, normal, hard"},
		{"width", "119", "120 to 480"},
		{"height", "161", "40 to 160"},
		{"lang", "fr", "en, ko"},
		{"lifetime", "29", "whole seconds"},
		{"lifetime", "7201", "whole seconds"},
		{"lifetime", "9223372037", "whole seconds"}, // seconds that would overflow a Duration
		{"attempts", "0", "1 to 5"},
		{"attempts", "6", "1 to 5"},
		{"escalate_min_answers", "0", "1 to 100"},
		{"escalate_min_answers", "101", "1 to 100"},
		{"escalate_min_answers", "many", "Enter a whole number"},
		{"escalate_bad_percent", "0", "1 to 100"},
		{"escalate_bad_percent", "100.5", "Enter a whole number"},
		{"fast_solve", "-1", "0 to 10 seconds"},
		{"fast_solve", "10.1", "0 to 10 seconds"},
		{"fast_solve", "1.05", "in tenths"},
		{"fast_solve", "1e300", "0 to 10 seconds"},
		{"fast_solve", "soon", "Enter a number"},
		{"fast_solve", "NaN", "Enter a number"},
		{"fast_solve", "", "Enter a number"},
	} {
		form := validAppForm(csrf)
		form.Set(tc.field, tc.value)
		rec := v.do(http.MethodPost, "/admin/apps", form, cookies, nil)
		got := fieldError(rec.Body.String(), tc.field)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(got, tc.reason) {
			t.Errorf("%s=%q: %d, next to the field %q, want %q", tc.field, tc.value, rec.Code, got, tc.reason)
		}
		// The refused value is shown back as typed.
		if tc.field != "api" && tc.field != "charset" && tc.field != "difficulty" && tc.field != "lang" &&
			!strings.Contains(rec.Body.String(), `value="`+tc.value+`"`) {
			t.Errorf("%s=%q: the form does not show the value back", tc.field, tc.value)
		}
	}
	// Hangul is spoken only in Korean: the reason goes next to the language.
	form := validAppForm(csrf)
	form.Set("charset", "hangul")
	rec := v.do(http.MethodPost, "/admin/apps", form, cookies, nil)
	if got := fieldError(rec.Body.String(), "lang"); !strings.Contains(got, "spoken in Korean only") {
		t.Errorf("hangul in English: %q", got)
	}
	// A bad name, a bad API and a bad setting are all shown at once.
	form = validAppForm(csrf)
	form.Set("name", " ")
	form.Set("api", "recaptcha")
	form.Set("width", "1000")
	body := v.do(http.MethodPost, "/admin/apps", form, cookies, nil).Body.String()
	if fieldError(body, "name") == "" || fieldError(body, "api") == "" || fieldError(body, "width") == "" {
		t.Error("three bad fields, not all shown")
	}
	if apps, _ := v.svc.Apps(context.Background()); len(apps) != 1 { // the demo app only
		t.Errorf("refused forms created %d apps", len(apps)-1)
	}
}

func TestCreateApp(t *testing.T) {
	v := newEnv(t)
	cookies, csrf := v.session()
	form := validAppForm(csrf)
	form.Set("charset", "hangul")
	form.Set("lang", "ko")
	form.Set("attempts", "3")
	rec := v.do(http.MethodPost, "/admin/apps", form, cookies, nil)
	body := rec.Body.String()
	secret, appKey := secretShown.FindStringSubmatch(body), appKeyShown.FindStringSubmatch(body)
	if rec.Code != http.StatusOK || secret == nil || appKey == nil {
		t.Fatalf("create: %d\n%s", rec.Code, body)
	}
	app, err := v.svc.AuthenticateApp(context.Background(), service.Naver, appKey[1], secret[1])
	if err != nil {
		t.Fatalf("the secret shown: %v", err)
	}
	if app.Name != "shop" || app.API != service.Naver || app.Settings.Charset != "hangul" || app.Settings.MaxAttempts != 3 {
		t.Errorf("created %+v", app)
	}
	// The app's page shows it with its dialect's examples, appkey filled in, no secret.
	page := v.do(http.MethodGet, "/admin/apps/"+strconv.FormatInt(app.ID, 10), nil, cookies, nil).Body.String()
	for _, want := range []string{
		"X-NCP-APIGW-API-KEY-ID: " + app.AppKey,
		"/captcha-bin/v1/ncaptcha?key=KEY&amp;X-NCP-APIGW-API-KEY-ID=" + app.AppKey,
		"/captcha/v1/nkey?code=1&amp;key=KEY&amp;value=ANSWER",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the app page lacks %q", want)
		}
	}
	if strings.Contains(page, "/captcha/v1.0/") {
		t.Error("a Naver app's page shows the NHN API's calls, which it does not answer")
	}
	if strings.Contains(page, secret[1]) {
		t.Error("the app page shows the secret again")
	}
}

// exampleSteps are the code blocks of an app page's examples, by the note above each.
var exampleStep = regexp.MustCompile(`(?s)<li><p>([^<]*)</p><pre><code>(.*?)</code></pre></li>`)

// An NHN app's page shows the NHN calls only, and what it gives the browser carries the key
// alone: the appkey is that app's only credential.
func TestNHNAppExamplesKeepTheAppKeyOnTheServer(t *testing.T) {
	v := newEnv(t)
	app, _, _ := v.svc.CreateApp(context.Background(), "shop", service.NHN, service.DefaultAppSettings())
	cookies, _ := v.session()
	page := v.do(http.MethodGet, "/admin/apps/"+strconv.FormatInt(app.ID, 10), nil, cookies, nil).Body.String()
	if !strings.Contains(page, "curl -X POST &#39;http://example.com/captcha/v1.0/appkeys/"+app.AppKey+"/keys&#39;") {
		t.Error("no NHN issuance example")
	}
	if strings.Contains(page, "X-NCP-APIGW") || strings.Contains(page, "ncaptcha") {
		t.Error("an NHN app's page shows the Naver API's calls, which it does not answer")
	}
	var browser int
	for _, step := range exampleStep.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(step[1], "browser") {
			continue
		}
		browser++
		if strings.Contains(step[2], app.AppKey) || !strings.Contains(step[2], "/captcha/v1.0/keys/KEY/img") {
			t.Errorf("the browser's snippet: %s", step[2])
		}
	}
	if browser != 1 {
		t.Fatalf("%d browser snippets", browser)
	}
}

func TestEditApp(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	app, _, _ := v.svc.CreateApp(ctx, "shop", service.NHN, service.DefaultAppSettings())
	cookies, csrf := v.session()
	target := "/admin/apps/" + strconv.FormatInt(app.ID, 10)

	form := validAppForm(csrf)
	form.Set("name", "shop 2")
	form.Set("api", "naver")
	form.Set("difficulty", "hard")
	form.Set("width", "300")
	form.Set("lifetime", "120")
	rec := v.do(http.MethodPost, target, form, cookies, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != target+"?msg=saved" {
		t.Fatalf("save: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	got, _ := v.svc.AppByID(ctx, app.ID)
	if got.Name != "shop 2" || got.API != service.Naver || got.Settings.Difficulty != "hard" || got.Settings.Width != 300 || got.Settings.KeyLifetime.Seconds() != 120 {
		t.Errorf("saved %+v", got)
	}
	if page := v.do(http.MethodGet, target+"?msg=saved", nil, cookies, nil).Body.String(); !strings.Contains(page, "Settings saved.") {
		t.Error("no confirmation")
	}

	form.Set("height", "10")
	rec = v.do(http.MethodPost, target, form, cookies, nil)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldError(rec.Body.String(), "height"), "40 to 160") {
		t.Errorf("invalid height: %d", rec.Code)
	}
	if again, _ := v.svc.AppByID(ctx, app.ID); again.Settings != got.Settings {
		t.Errorf("a refused save changed the app: %+v", again.Settings)
	}
	form.Set("height", "80")
	form.Set("api", "recaptcha")
	rec = v.do(http.MethodPost, target, form, cookies, nil)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldError(rec.Body.String(), "api"), "nhn, naver, widget") {
		t.Errorf("unknown api: %d", rec.Code)
	}
	if again, _ := v.svc.AppByID(ctx, app.ID); again.API != service.Naver {
		t.Errorf("a refused save changed the API to %q", again.API)
	}

	for _, bad := range []string{"/admin/apps/999", "/admin/apps/0", "/admin/apps/x", "/admin/apps/-1"} {
		if rec := v.do(http.MethodGet, bad, nil, cookies, nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", bad, rec.Code)
		}
		if rec := v.do(http.MethodPost, bad, validAppForm(csrf), cookies, nil); rec.Code != http.StatusNotFound {
			t.Errorf("POST %s: %d", bad, rec.Code)
		}
	}
}

func TestRotateSecret(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	app, old, _ := v.svc.CreateApp(ctx, "shop", service.Naver, service.DefaultAppSettings())
	cookies, csrf := v.session()
	rec := v.do(http.MethodPost, "/admin/apps/"+strconv.FormatInt(app.ID, 10)+"/secret", url.Values{"csrf": {csrf}}, cookies, nil)
	m := secretShown.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		t.Fatalf("rotate: %d", rec.Code)
	}
	if _, err := v.svc.AuthenticateApp(ctx, service.Naver, app.AppKey, m[1]); err != nil {
		t.Errorf("the new secret: %v", err)
	}
	if _, err := v.svc.AuthenticateApp(ctx, service.Naver, app.AppKey, old); !errors.Is(err, service.ErrBadSecret) {
		t.Errorf("the old secret: %v", err)
	}
}

func TestDisableAndDeleteApp(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	app, _, _ := v.svc.CreateApp(ctx, "shop", service.NHN, service.DefaultAppSettings())
	cookies, csrf := v.session()
	base := "/admin/apps/" + strconv.FormatInt(app.ID, 10)

	if rec := v.do(http.MethodPost, base+"/enabled", url.Values{"csrf": {csrf}, "enabled": {"0"}}, cookies, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("disable: %d", rec.Code)
	}
	if _, err := v.svc.App(ctx, service.NHN, app.AppKey); !errors.Is(err, service.ErrAppDisabled) {
		t.Errorf("after disabling: %v", err)
	}
	if rec := v.do(http.MethodPost, base+"/enabled", url.Values{"csrf": {csrf}, "enabled": {"yes"}}, cookies, nil); rec.Code != http.StatusBadRequest {
		t.Errorf("a bad value: %d", rec.Code)
	}
	if rec := v.do(http.MethodPost, base+"/enabled", url.Values{"csrf": {csrf}, "enabled": {"1"}}, cookies, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("enable: %d", rec.Code)
	}
	if _, err := v.svc.App(ctx, service.NHN, app.AppKey); err != nil {
		t.Errorf("after enabling: %v", err)
	}

	// Deleting asks first; the question changes nothing.
	page := v.do(http.MethodGet, base+"/delete", nil, cookies, nil)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `id="confirm-delete"`) {
		t.Fatalf("confirmation: %d", page.Code)
	}
	if _, err := v.svc.AppByID(ctx, app.ID); err != nil {
		t.Fatalf("asking deleted it: %v", err)
	}
	rec := v.do(http.MethodPost, base+"/delete", url.Values{"csrf": {csrf}}, cookies, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/apps?msg=deleted" {
		t.Fatalf("delete: %d", rec.Code)
	}
	if _, err := v.svc.AppByID(ctx, app.ID); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("after deleting: %v", err)
	}
	if rec := v.do(http.MethodPost, base+"/delete", url.Values{"csrf": {csrf}}, cookies, nil); rec.Code != http.StatusNotFound {
		t.Errorf("deleting again: %d", rec.Code)
	}
}

func TestPreview(t *testing.T) {
	v := newEnv(t)
	cookies, _ := v.session()
	q := url.Values{"charset": {"digits"}, "length": {"5"}, "difficulty": {"hard"}, "width": {"300"}, "height": {"100"}, "lang": {"ko"}}
	rec := v.do(http.MethodGet, "/admin/preview/image?"+q.Encode(), nil, cookies, nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/jpeg" {
		t.Fatalf("image: %d %s", rec.Code, rec.Body)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(rec.Body.Bytes()))
	if err != nil || cfg.Width != 300 || cfg.Height != 100 {
		t.Errorf("image %dx%d: %v", cfg.Width, cfg.Height, err)
	}
	rec = v.do(http.MethodGet, "/admin/preview/audio?"+q.Encode(), nil, cookies, nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "audio/wav" || !bytes.HasPrefix(rec.Body.Bytes(), []byte("RIFF")) {
		t.Fatalf("audio: %d %q", rec.Code, rec.Body.Bytes()[:min(rec.Body.Len(), 16)])
	}
	// Nothing is stored: no key was issued.
	if st, _ := v.svc.Stats(context.Background(), 0, 1); st.Totals.Issued != 0 {
		t.Errorf("the preview issued %d keys", st.Totals.Issued)
	}

	for field, value := range map[string]string{"width": "1000", "length": "x", "charset": "nope", "lang": "en"} {
		bad := url.Values{}
		for k, vals := range q {
			bad[k] = vals
		}
		bad.Set(field, value)
		if field == "lang" {
			bad.Set("charset", "hangul")
		}
		for _, kind := range []string{"image", "audio"} {
			rec := v.do(http.MethodGet, "/admin/preview/"+kind+"?"+bad.Encode(), nil, cookies, nil)
			var e struct{ Field, Message string }
			if rec.Code != http.StatusBadRequest || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Field != field || e.Message == "" {
				t.Errorf("%s with %s=%s: %d %s", kind, field, value, rec.Code, rec.Body)
			}
		}
	}
}

var weakNotice = regexp.MustCompile(`<p class="notice warn" id="weak-settings" role="alert">([^<]*)</p>`)

// Settings that let a blind guess pass more often than once in 100,000 keys are pointed out
// with the odds, in both languages, when the app is created and on its page.
func TestWeakSettingsAreShownWithTheirOdds(t *testing.T) {
	v := newEnv(t)
	cookies, csrf := v.session()
	form := validAppForm(csrf)
	form.Set("charset", "digits")
	form.Set("length", "4")
	form.Set("attempts", "5") // 5 / 10^4: once in 2,000
	rec := v.do(http.MethodPost, "/admin/apps", form, cookies, nil)
	m := weakNotice.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil || !strings.Contains(m[1], "about 1 in 2,000 keys") {
		t.Fatalf("created with weak settings: %d, notice %q", rec.Code, m)
	}
	appKey := appKeyShown.FindStringSubmatch(rec.Body.String())[1]
	app, err := v.svc.App(context.Background(), service.Naver, appKey)
	if err != nil {
		t.Fatal(err)
	}
	page := "/admin/apps/" + strconv.FormatInt(app.ID, 10)
	ko := append([]*http.Cookie{{Name: "lang", Value: "ko"}}, cookies...)
	if m := weakNotice.FindStringSubmatch(v.do(http.MethodGet, page, nil, ko, nil).Body.String()); m == nil ||
		!strings.Contains(m[1], "약 2,000개 중 1개") {
		t.Errorf("the app's page in Korean: %q", m)
	}

	// A form refused for another field still shows the odds of what it would save.
	form.Set("name", " ")
	form.Set("attempts", "1")
	if m := weakNotice.FindStringSubmatch(v.do(http.MethodPost, page, form, cookies, nil).Body.String()); m == nil ||
		!strings.Contains(m[1], "about 1 in 10,000 keys") {
		t.Errorf("a refused form: %q", m)
	}

	// Strong enough settings show nothing.
	form.Set("name", "shop")
	form.Set("length", "6")
	if rec := v.do(http.MethodPost, page, form, cookies, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", rec.Code)
	}
	for _, target := range []string{page, "/admin/apps/new"} {
		if weakNotice.MatchString(v.do(http.MethodGet, target, nil, cookies, nil).Body.String()) {
			t.Errorf("%s warns about strong settings", target)
		}
	}
}

// The escalation policy is part of the settings form: shown with the app's values, saved, and
// off when its box is unchecked.
func TestEditAppEscalation(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	app, _, _ := v.svc.CreateApp(ctx, "shop", service.NHN, service.DefaultAppSettings())
	cookies, csrf := v.session()
	target := "/admin/apps/" + strconv.FormatInt(app.ID, 10)
	page := v.do(http.MethodGet, target, nil, cookies, nil).Body.String()
	for _, want := range []string{`name="escalate" type="checkbox" value="1" checked`, `name="escalate_min_answers" type="number" inputmode="numeric" value="5"`,
		`name="escalate_bad_percent" type="number" inputmode="numeric" value="70"`, `name="fast_solve" type="number" inputmode="decimal" step="0.1" value="1"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the form lacks %s", want)
		}
	}

	form := validAppForm(csrf)
	form.Del("escalate")
	form.Set("escalate_min_answers", "12")
	form.Set("escalate_bad_percent", "90")
	form.Set("fast_solve", "1.5")
	if rec := v.do(http.MethodPost, target, form, cookies, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", rec.Code, rec.Body.String())
	}
	got, _ := v.svc.AppByID(ctx, app.ID)
	if want := (service.Escalation{MinAnswers: 12, BadPercent: 90, FastSolve: 1500 * time.Millisecond}); got.Settings.Escalation != want {
		t.Errorf("saved %+v, want %+v", got.Settings.Escalation, want)
	}
	for lang, want := range map[string]string{"en": "Escalate suspicious networks", "ko": "의심스러운 네트워크의 난이도 올리기"} {
		page := v.do(http.MethodGet, target, nil, append([]*http.Cookie{{Name: "lang", Value: lang}}, cookies...), nil).Body.String()
		if !strings.Contains(page, want) || !strings.Contains(page, `name="escalate" type="checkbox" value="1">`) ||
			!strings.Contains(page, `value="1.5"`) {
			t.Errorf("in %s, the saved policy is not shown", lang)
		}
	}
}
