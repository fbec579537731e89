package service

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"captcha/engine"
)

// The hosts whose pages may embed a widget app's challenges. The widget's endpoints compare
// the host of a request's Origin with them; an app without any allows every page, which the
// admin UI says. A host matches itself only, not its subdomains: an operator lists each one
// (www.example.com and example.com are two), so that no host is allowed by surprise.

// MaxHostnames bounds an app's list.
const MaxHostnames = 100

// hostnamesAllowed is what the field error of a bad list says is allowed.
var hostnamesAllowed = fmt.Sprintf("host names such as example.com or localhost, or IPv4 addresses, "+
	"without scheme, port or path, separated by commas; at most %d", MaxHostnames)

// ParseHostnames reads a list of hosts as an operator types it, separated by commas or
// white space, into its canonical form (CanonicalHostnames).
func ParseHostnames(text string) ([]string, error) {
	return CanonicalHostnames(strings.FieldsFunc(text, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}))
}

// CanonicalHostnames checks each host and returns them in lower case, without a trailing dot
// or repeats, in the order given; an *engine.FieldError for the field "hostnames" names the
// first that is no host name.
func CanonicalHostnames(hosts []string) ([]string, error) {
	var out []string
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if !validHostname(h) {
			return nil, &engine.FieldError{Field: "hostnames", Value: fmt.Sprintf("%q", h), Allowed: hostnamesAllowed}
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	if len(out) > MaxHostnames {
		return nil, &engine.FieldError{Field: "hostnames", Value: len(out), Allowed: hostnamesAllowed}
	}
	return out, nil
}

// validHostname accepts a DNS name of letters, digits and hyphens (RFC 1123; an IDN in its
// xn-- form, as browsers put it in Origin) or an IPv4 address.
func validHostname(h string) bool {
	if addr, err := netip.ParseAddr(h); err == nil {
		return addr.Is4()
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := range len(label) {
			c := label[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// AllowsHost says whether a page of host (from an Origin, any case) may use the app's widget.
func (a *App) AllowsHost(host string) bool {
	if len(a.Hostnames) == 0 {
		return true
	}
	return slices.Contains(a.Hostnames, strings.TrimSuffix(strings.ToLower(host), "."))
}

// SetAppHostnames replaces the hosts whose pages may embed an app's widget; none allows any.
func (s *Service) SetAppHostnames(ctx context.Context, id int64, hostnames []string) error {
	hostnames, err := CanonicalHostnames(hostnames)
	if err != nil {
		return err
	}
	if id <= 0 {
		return ErrUnknownApp
	}
	return s.store.SetAppHostnames(ctx, id, hostnames)
}
