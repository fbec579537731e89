package service

import (
	"fmt"
	"slices"
	"strings"

	"captcha/engine"
)

// API is the dialect an app is called in. An app answers in one only, because each dialect
// has its own credentials: NHN's is the appkey alone, Naver's the appkey and a secret, and
// the Naver flow puts the appkey in every browser's image URL. An app that answered both
// could be called through NHN, without its secret, by anyone who had loaded one of its
// challenges. The other dialects' endpoints take the app for an unknown one.
type API string

const (
	NHN   API = "nhn"   // NHN Cloud style: the appkey in the path is the credential
	Naver API = "naver" // Naver Cloud style: appkey and secret in the API gateway's headers
	// Widget is the drop-in widget: the appkey is the public site key that pages embed, and
	// the secret authenticates the site's server at /siteverify (token.go).
	Widget API = "widget"
)

// apis are the dialects, in the order forms and messages offer them. A new dialect is a
// constant above, an entry here, its routes in web/ and its name in the admin UI's catalogs.
var apis = []API{NHN, Naver, Widget}

// APIs lists every dialect.
func APIs() []API { return slices.Clone(apis) }

// APINames lists the dialects for messages: "nhn, naver, widget".
func APINames() string {
	names := make([]string, len(apis))
	for i, a := range apis {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// Validate refuses a dialect this server does not speak, as an *engine.FieldError for the
// field "api", like the settings' errors.
func (a API) Validate() error {
	if slices.Contains(apis, a) {
		return nil
	}
	return &engine.FieldError{Field: "api", Value: fmt.Sprintf("%q", string(a)), Allowed: APINames()}
}
