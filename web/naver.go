package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
)

// The Naver Cloud dialect (../shared/seeds/naver-cloud-captcha-api.txt): nkey issues and
// compares image CAPTCHA keys, ncaptcha serves the image; skey and scaptcha do the same for
// the voice CAPTCHA. nkey and skey take the app's credentials in the API gateway's headers;
// the binary endpoints take the appkey as a query parameter, as the document's examples do,
// because browsers load them.
const (
	naverKeyIDHeader  = "X-NCP-APIGW-API-KEY-ID"
	naverSecretHeader = "X-NCP-APIGW-API-KEY"
)

func (s *server) routeNaver(e *echo.Echo) {
	e.GET("/captcha/v1/nkey", s.naverKey(service.Image))
	e.GET("/captcha-bin/v1/ncaptcha", s.naverChallenge(service.Image))
	e.GET("/scaptcha/v1/skey", s.naverKey(service.Audio))
	e.GET("/scaptcha-bin/v1/scaptcha", s.naverChallenge(service.Audio))
	// The paths of the document's raw HTTP examples and of its C# example.
	e.GET("/v1/captcha/nkey", s.naverKey(service.Image))
	e.GET("/v1/captcha-bin/ncaptcha.bin", s.naverChallenge(service.Image))
	e.GET("/captcha/v1/ncaptcha", s.naverChallenge(service.Image))
}

func isNaverPath(p string) bool {
	for _, prefix := range []string{"/captcha/v1/", "/captcha-bin/", "/scaptcha/", "/scaptcha-bin/", "/v1/captcha"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// naverErrorBody is the document's error body. Failures that Naver's API gateway answers
// before the CAPTCHA service sees the request (credentials, rate limits, malformed requests)
// also carry the gateway's own "error" object with its codes, so that a client written
// against either shape understands them.
type naverErrorBody struct {
	ErrorCode    string             `json:"errorCode"`
	ErrorMessage string             `json:"errorMessage"`
	Gateway      *naverGatewayError `json:"error,omitempty"`
}

type naverGatewayError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
	Details   string `json:"details"`
}

// naverErrors maps errors to the document's error codes, in one place; gateway marks the
// errors answered in the API gateway's name.
var naverErrors = []struct {
	err           error
	status        int
	code, message string
	gateway       string // the gateway's details; empty for the document's own codes
}{
	{service.ErrKeyNotFound, http.StatusForbidden, "CT001", "Invalid key.", ""},
	{service.ErrKeyExpired, http.StatusForbidden, "CT001", "Invalid key.", ""},
	{service.ErrKeyUsedUp, http.StatusForbidden, "CT001", "Invalid key.", ""},
	{service.ErrNotServed, http.StatusBadRequest, "CT002", "Unissued image.", ""},
	// One answer for every credential problem: which part was wrong is not the client's business.
	{errMissingCredentials, http.StatusUnauthorized, "200", "Authentication Failed", naverBadCredentials},
	{service.ErrUnknownApp, http.StatusUnauthorized, "200", "Authentication Failed", naverBadCredentials},
	{service.ErrBadSecret, http.StatusUnauthorized, "200", "Authentication Failed", naverBadCredentials},
	{service.ErrAppDisabled, http.StatusUnauthorized, "200", "Authentication Failed", naverBadCredentials},
	{errRateLimited, http.StatusTooManyRequests, "420", "Rate Limited", "Too many requests; slow down."},
	{errBadParameter, http.StatusBadRequest, "100", "Bad Request Exception", "code must be 0 or 1."},
}

const naverBadCredentials = "Invalid authentication information."

// naverGatewayStatus names the gateway's codes for echo's own errors.
var naverGatewayStatus = map[int][2]string{
	http.StatusNotFound:              {"300", "Not Found Exception"},
	http.StatusMethodNotAllowed:      {"300", "Not Found Exception"},
	http.StatusRequestEntityTooLarge: {"430", "Request Entity Too Large"},
}

// naverError answers err with its error code and returns it again if it is a server failure.
func (s *server) naverError(c echo.Context, err error) error {
	for _, r := range naverErrors {
		if errors.Is(err, r.err) {
			body := naverErrorBody{ErrorCode: r.code, ErrorMessage: r.message}
			if r.code == "CT002" && strings.HasPrefix(c.Path(), "/scaptcha") {
				body.ErrorMessage = "Unissued audio."
			}
			if r.gateway != "" {
				body.Gateway = &naverGatewayError{ErrorCode: r.code, Message: r.message, Details: r.gateway}
			}
			return c.JSON(r.status, body)
		}
	}
	status := httpStatus(err)
	if gw, ok := naverGatewayStatus[status]; ok {
		return c.JSON(status, naverErrorBody{ErrorCode: gw[0], ErrorMessage: gw[1],
			Gateway: &naverGatewayError{ErrorCode: gw[0], Message: gw[1], Details: http.StatusText(status)}})
	}
	c.JSON(http.StatusInternalServerError, naverErrorBody{ErrorCode: "CT500", ErrorMessage: "System error."})
	return err
}

// naverKey serves nkey (image) and skey (voice): code 0 or none issues a key, code 1
// compares an answer with it.
func (s *server) naverKey(ch service.Channel) echo.HandlerFunc {
	return func(c echo.Context) error {
		app, err := s.identify(c, func(ctx context.Context) (*service.App, error) {
			keyID, secret := c.Request().Header.Get(naverKeyIDHeader), c.Request().Header.Get(naverSecretHeader)
			if keyID == "" || secret == "" {
				return nil, errMissingCredentials
			}
			return s.svc.AuthenticateApp(ctx, service.Naver, keyID, secret)
		})
		if err != nil {
			return err
		}
		switch c.QueryParam("code") {
		case "", "0":
			return s.naverIssue(c, app)
		case "1":
			return s.naverCompare(c, app, ch)
		}
		return errBadParameter
	}
}

func (s *server) naverIssue(c echo.Context, app *service.App) error {
	if !s.issue.allow(app.AppKey, s.now()) {
		return errRateLimited
	}
	k, err := s.svc.IssueKey(c.Request().Context(), app)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"key": k.ID})
}

type naverCompareReply struct {
	Result       bool    `json:"result"`
	ResponseTime float64 `json:"responseTime"`
}

// naverCompare answers {"result":bool,"responseTime":seconds}, the seconds running from the
// first delivery of the image (or sound, for skey) to the compare, to two decimals. A value
// refused before comparing (empty, overlong, invalid characters: service.ErrBadAnswer) is a
// false result with -1, the bottom of the document's range, and uses up no attempt: the
// document has no error code for a malformed value.
func (s *server) naverCompare(c echo.Context, app *service.App, ch service.Channel) error {
	if !s.verify.allow(app.AppKey, s.now()) {
		return errRateLimited
	}
	res, err := s.svc.Verify(c.Request().Context(), app, c.QueryParam("key"), c.QueryParam("value"), ch)
	reply := naverCompareReply{Result: err == nil, ResponseTime: math.Round(res.ResponseTime.Seconds()*100) / 100}
	switch {
	case errors.Is(err, service.ErrBadAnswer):
		reply.ResponseTime = -1
	case err != nil && !errors.Is(err, service.ErrWrongAnswer):
		return err
	}
	return c.JSON(http.StatusOK, reply)
}

// naverChallenge serves ncaptcha (the JPEG) and scaptcha (the WAV).
func (s *server) naverChallenge(ch service.Channel) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.allowFetch(c) {
			return errRateLimited
		}
		appKey := c.QueryParam(naverKeyIDHeader)
		if appKey == "" {
			appKey = c.Request().Header.Get(naverKeyIDHeader)
		}
		_, err := s.identify(c, func(ctx context.Context) (*service.App, error) {
			if appKey == "" {
				return nil, errMissingCredentials
			}
			return s.svc.App(ctx, service.Naver, appKey)
		})
		if err != nil {
			return err
		}
		if ch == service.Audio {
			return s.sendSound(c, service.Naver, c.QueryParam("key"), appKey)
		}
		img, err := s.svc.KeyImage(c.Request().Context(), service.Naver, c.QueryParam("key"), appKey, clientNetwork(c.RealIP()))
		if err != nil {
			return err
		}
		return sendChallenge(c, "image/jpeg", img.Data)
	}
}
