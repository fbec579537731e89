package admin_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"captcha/engine/service"
)

// A widget app is created with its hostnames and token lifetime; its page shows the site key
// and the hostnames, or says that any site may embed the widget; a bad host is refused next
// to its field, changing nothing.
func TestWidgetApp(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	cookies, csrf := v.session()
	form := validAppForm(csrf)
	form.Set("api", "widget")
	form.Set("hostnames", "Shop.example, www.shop.example\nlocalhost")
	form.Set("token_lifetime", "120")
	rec := v.do(http.MethodPost, "/admin/apps", form, cookies, nil)
	body := rec.Body.String()
	m := appKeyShown.FindStringSubmatch(body)
	if rec.Code != http.StatusOK || m == nil || !strings.Contains(body, "Site key") || secretShown.FindStringSubmatch(body) == nil {
		t.Fatalf("create: %d %s", rec.Code, body)
	}
	app, err := v.svc.App(ctx, service.Widget, m[1])
	if err != nil || !slices.Equal(app.Hostnames, []string{"shop.example", "www.shop.example", "localhost"}) ||
		app.Settings.TokenLifetime != 120*time.Second {
		t.Fatalf("created %+v, %v", app, err)
	}
	target := "/admin/apps/" + strconv.FormatInt(app.ID, 10)
	page := v.do(http.MethodGet, target, nil, cookies, nil).Body.String()
	if !strings.Contains(page, "<code>www.shop.example</code>") || !strings.Contains(page, "Site key") ||
		!strings.Contains(page, "/siteverify") || !strings.Contains(page, `data-sitekey=&#34;`+app.AppKey) ||
		strings.Contains(page, "Any site may embed the widget") {
		t.Errorf("the app's page: %s", page)
	}

	// The list of apps shows a widget app's hosts too, where an operator looks for them.
	list := v.do(http.MethodGet, "/admin/apps", nil, cookies, nil).Body.String()
	if !strings.Contains(list, "<code>shop.example</code>, <code>www.shop.example</code>, <code>localhost</code>") {
		t.Errorf("the list of apps does not show the hostnames: %s", list)
	}

	form.Set("hostnames", "shop.example, https://evil.example/")
	rec = v.do(http.MethodPost, target, form, cookies, nil)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldError(rec.Body.String(), "hostnames"), "example.com") {
		t.Errorf("a bad host: %d %s", rec.Code, fieldError(rec.Body.String(), "hostnames"))
	}
	if got, _ := v.svc.AppByID(ctx, app.ID); len(got.Hostnames) != 3 {
		t.Errorf("a refused save changed the hostnames: %q", got.Hostnames)
	}
	form.Set("token_lifetime", "5")
	form.Set("hostnames", "")
	rec = v.do(http.MethodPost, target, form, cookies, nil)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldError(rec.Body.String(), "token_lifetime"), "30s to 1h0m0s") {
		t.Errorf("a bad token lifetime: %d %s", rec.Code, fieldError(rec.Body.String(), "token_lifetime"))
	}
	form.Set("token_lifetime", "300")
	if rec := v.do(http.MethodPost, target, form, cookies, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("clearing the hostnames: %d", rec.Code)
	}
	if got, _ := v.svc.AppByID(ctx, app.ID); got.Hostnames != nil || got.Settings.TokenLifetime != 300*time.Second {
		t.Errorf("saved %+v", got)
	}
	for lang, want := range map[string]string{"en": "Any site may embed the widget", "ko": "어느 사이트든 위젯을 넣을 수 있음"} {
		for _, path := range []string{target, "/admin/apps"} {
			page := v.do(http.MethodGet, path, nil, cookies, map[string]string{"Accept-Language": lang}).Body.String()
			if !strings.Contains(page, want) {
				t.Errorf("%s %s: the page does not say %q", lang, path, want)
			}
		}
	}
}
