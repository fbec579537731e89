package web

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
)

// /siteverify, the server-to-server half of the widget dialect, as reCAPTCHA, hCaptcha and
// Turnstile answer it, so that a site's verification code (or a library of that convention)
// works by changing the URL: form-encoded or JSON parameters secret, response, and optionally
// remoteip, sitekey and idempotency_key; always HTTP 200 with {"success":…,"error-codes":[…]}
// (but 429 when the client is rate limited, with the same body). remoteip is accepted and
// not checked: the widget's calls and the site's come from different networks behind
// proxies the server knows nothing of.
const siteverifyPath = "/siteverify"

// The convention's error codes.
const (
	codeMissingSecret   = "missing-input-secret"
	codeInvalidSecret   = "invalid-input-secret"
	codeMissingResponse = "missing-input-response"
	codeInvalidResponse = "invalid-input-response"
	codeBadRequest      = "bad-request"
	codeDuplicate       = "timeout-or-duplicate"
	codeInternal        = "internal-error"
	codeRateLimited     = "rate-limited"
)

// siteverifyResults are the values of captcha_siteverify_total's result label: success, or
// the first error code of the answer. Only these, never anything a client sent, so that the
// series stay few.
var siteverifyResults = []string{"success", codeMissingSecret, codeInvalidSecret, codeMissingResponse,
	codeInvalidResponse, codeBadRequest, codeDuplicate, codeInternal, codeRateLimited}

// siteverifyErrors maps the service's errors to the codes, in one place.
var siteverifyErrors = []struct {
	err  error
	code string
}{
	{service.ErrBadSecret, codeInvalidSecret},
	{service.ErrTokenInvalid, codeInvalidResponse},
	{service.ErrTokenUsed, codeDuplicate},
	{service.ErrBadTokenData, codeBadRequest},
	{errBadRequest, codeBadRequest},
	{errRateLimited, codeRateLimited},
}

// siteverifyReply is the answer. challenge_ts and hostname are sent on success only (a
// client that decodes challenge_ts as a time fails on an empty one); error-codes always, [] on
// success.
type siteverifyReply struct {
	Success     bool     `json:"success"`
	ChallengeTS *string  `json:"challenge_ts,omitempty"`
	Hostname    *string  `json:"hostname,omitempty"`
	ErrorCodes  []string `json:"error-codes"`
	Action      string   `json:"action,omitempty"`
	CData       string   `json:"cdata,omitempty"`
}

func (s *server) siteverify(c echo.Context) error {
	if err := s.take(s.siteverifyCalls, clientNetwork(c.RealIP())); err != nil {
		return err
	}
	params, err := siteverifyParams(c)
	if err != nil {
		return err
	}
	v := service.SiteVerification{Secret: params["secret"], Response: params["response"], SiteKey: params["sitekey"],
		IdempotencyKey: params["idempotency_key"]}
	var missing []string
	if v.Secret == "" {
		missing = append(missing, codeMissingSecret)
	}
	if v.Response == "" {
		missing = append(missing, codeMissingResponse)
	}
	if missing != nil {
		return s.sendSiteverify(c, http.StatusOK, siteverifyReply{ErrorCodes: missing})
	}
	t, err := s.svc.SiteVerify(c.Request().Context(), v)
	if err != nil {
		return err
	}
	ts, host := t.ChallengeAt.UTC().Format(time.RFC3339), t.Hostname
	return s.sendSiteverify(c, http.StatusOK, siteverifyReply{Success: true, ChallengeTS: &ts, Hostname: &host,
		ErrorCodes: []string{}, Action: t.Action, CData: t.CData})
}

// sendSiteverify answers with r, counting it by its result: every answer of /siteverify,
// the error handler's included, goes out through here.
func (s *server) sendSiteverify(c echo.Context, status int, r siteverifyReply) error {
	result := "success"
	if !r.Success {
		result = r.ErrorCodes[0]
	}
	s.metrics.siteverifyAnswered(result)
	return c.JSON(status, r)
}

// siteverifyFields are the parameters read; others are ignored, as the convention's
// servers do.
var siteverifyFields = []string{"secret", "response", "remoteip", "sitekey", "idempotency_key"}

// siteverifyParams reads the parameters from a JSON object (Content-Type application/json)
// or a form, URL-encoded or multipart (any other type, or none, is read as URL-encoded, as
// some clients send it so). Each must be a string; the first of repeated form values counts.
func siteverifyParams(c echo.Context) (map[string]string, error) {
	req := c.Request()
	params := map[string]string{}
	mediaType, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if mediaType == echo.MIMEApplicationJSON {
		var raw map[string]json.RawMessage
		if err := readJSON(c, &raw); err != nil {
			return nil, err
		}
		for _, name := range siteverifyFields {
			if v, ok := raw[name]; ok && string(v) != "null" {
				var text string
				if err := json.Unmarshal(v, &text); err != nil {
					return nil, errBadRequest
				}
				params[name] = text
			}
		}
		return params, nil
	}
	var err error
	if mediaType == echo.MIMEMultipartForm {
		err = req.ParseMultipartForm(1 << 16) // the body is bounded by maxBody anyway
	} else {
		if mediaType != echo.MIMEApplicationForm {
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
		}
		err = req.ParseForm()
	}
	if err != nil {
		return nil, errBadRequest
	}
	for _, name := range siteverifyFields {
		if vs := req.Form[name]; len(vs) > 0 {
			params[name] = vs[0]
		}
	}
	return params, nil
}

// siteverifyError answers err with the convention's body and returns it again if it is a
// server failure.
func (s *server) siteverifyError(c echo.Context, err error) error {
	for _, r := range siteverifyErrors {
		if errors.Is(err, r.err) {
			status := http.StatusOK
			if r.code == codeRateLimited {
				status = http.StatusTooManyRequests
				setRetryAfter(c, err)
			}
			return s.sendSiteverify(c, status, siteverifyReply{ErrorCodes: []string{r.code}})
		}
	}
	if status := httpStatus(err); status > 0 && status < 500 {
		// A wrong method, an oversized body: the caller's mistake, in the convention's shape.
		return s.sendSiteverify(c, http.StatusOK, siteverifyReply{ErrorCodes: []string{codeBadRequest}})
	}
	s.sendSiteverify(c, http.StatusOK, siteverifyReply{ErrorCodes: []string{codeInternal}})
	return err
}
