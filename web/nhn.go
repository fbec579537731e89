package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
)

// The NHN Cloud dialect (../shared/seeds/nhn-cloud-captcha-api.md): the appkey in the path is
// the app's only credential, as in that cloud; the image and sound are fetched by browsers
// with the key alone. JSON replies carry a header with a result code and answer HTTP 200
// whatever the code, as that cloud does, except 429 when rate limited.
const nhnPrefix = "/captcha/v1.0/"

func (s *server) routeNHN(e *echo.Echo) {
	g := e.Group("/captcha/v1.0")
	g.POST("/appkeys/:appKey/keys", s.nhnIssue)
	g.GET("/keys/:key/img", s.nhnImage)
	g.GET("/keys/:key/sound", s.nhnSound)
	g.GET("/appkeys/:appKey/keys/:key/verification", s.nhnVerify)
	g.DELETE("/appkeys/:appKey", s.nhnExpire)
}

// nhnHeader is the result header of every JSON reply. The document writes "successful"; the
// rest of that cloud's APIs write "isSuccessful"; both are sent so that clients of either work.
type nhnHeader struct {
	ResultCode    int    `json:"resultCode"`
	ResultMessage string `json:"resultMessage"`
	IsSuccessful  bool   `json:"isSuccessful"`
	Successful    bool   `json:"successful"`
}

type nhnReply struct {
	Header nhnHeader `json:"header"`
	Key    string    `json:"key,omitempty"`
	// KeyAsDocumented repeats the key under the spelling of the document's example response.
	KeyAsDocumented string `json:"Key,omitempty"`
}

var nhnSuccess = nhnHeader{ResultCode: 0, ResultMessage: "SUCCESS", IsSuccessful: true, Successful: true}

// nhnSuccessReply is the reply of a successful verification or expiry, encoded once as
// c.JSON would encode it (with its newline): the commonest reply costs no encoding.
var nhnSuccessReply = func() []byte {
	b, err := json.Marshal(nhnReply{Header: nhnSuccess})
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}()

// nhnResults maps errors to the document's result codes, in one place. fetch is the HTTP
// status on the image and sound endpoints, which browsers load directly and which therefore
// say what happened in their status too.
var nhnResults = []struct {
	err     error
	code    int
	message string
	fetch   int
}{
	{errMissingParameter, -2, "PARAMETER_ERROR", http.StatusBadRequest},
	// An empty answer has a code of its own; every other answer refused before comparing
	// (overlong, invalid characters) is a parameter error. The first match wins, and
	// ErrEmptyAnswer is an ErrBadAnswer too, so it comes first.
	{service.ErrEmptyAnswer, -8, "EMPTY_ANSWER", http.StatusBadRequest},
	{service.ErrBadAnswer, -2, "PARAMETER_ERROR", http.StatusBadRequest},
	{errRateLimited, -3, "HTTP_STATUS_ERROR", http.StatusTooManyRequests},
	{service.ErrUnknownApp, -4, "APPKEY_ERROR", http.StatusNotFound},
	{service.ErrAppDisabled, -4, "APPKEY_ERROR", http.StatusNotFound},
	{service.ErrKeyExpired, -5, "EXPIRED_KEY_ERROR", http.StatusGone},
	{service.ErrKeyUsedUp, -5, "EXPIRED_KEY_ERROR", http.StatusGone},
	{service.ErrWrongAnswer, -6, "WRONG_ANSWER_ERROR", http.StatusBadRequest},
	{service.ErrKeyNotFound, -7, "INVALID_KEY_ERROR", http.StatusNotFound},
}

// nhnError answers err with its result code and returns it again if it is a server failure.
func (s *server) nhnError(c echo.Context, err error) error {
	fetch := c.Path() == nhnPrefix+"keys/:key/img" || c.Path() == nhnPrefix+"keys/:key/sound"
	for _, r := range nhnResults {
		if errors.Is(err, r.err) {
			status := http.StatusOK
			if fetch || r.code == -3 {
				status = r.fetch
			}
			return c.JSON(status, nhnReply{Header: nhnHeader{ResultCode: r.code, ResultMessage: r.message}})
		}
	}
	if status := httpStatus(err); status > 0 && status < 500 {
		// An unknown path, a wrong method or an oversized body: the document's HTTP status error.
		return c.JSON(status, nhnReply{Header: nhnHeader{ResultCode: -3, ResultMessage: "HTTP_STATUS_ERROR"}})
	}
	status := http.StatusOK
	if fetch {
		status = http.StatusInternalServerError
	}
	c.JSON(status, nhnReply{Header: nhnHeader{ResultCode: -1, ResultMessage: "FAIL"}})
	return err
}

// nhnApp identifies the app of the path, then takes a token from its bucket in limiter.
func (s *server) nhnApp(c echo.Context, limiter *keyedLimiter) (*service.App, error) {
	app, err := s.identify(c, func(ctx context.Context) (*service.App, error) {
		return s.svc.App(ctx, service.NHN, c.Param("appKey"))
	})
	if err != nil {
		return nil, err
	}
	if !limiter.allow(app.AppKey, s.now()) {
		return nil, errRateLimited
	}
	return app, nil
}

func (s *server) nhnIssue(c echo.Context) error {
	app, err := s.nhnApp(c, s.issue)
	if err != nil {
		return err
	}
	k, err := s.svc.IssueKey(c.Request().Context(), app)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, nhnReply{Header: nhnSuccess, Key: k.ID, KeyAsDocumented: k.ID})
}

func (s *server) nhnImage(c echo.Context) error {
	if !s.allowFetch(c) {
		return errRateLimited
	}
	img, err := s.svc.KeyImage(c.Request().Context(), service.NHN, c.Param("key"), "", clientNetwork(c.RealIP()))
	if err != nil {
		return err
	}
	return sendChallenge(c, "image/jpeg", img.Data)
}

func (s *server) nhnSound(c echo.Context) error {
	if !s.allowFetch(c) {
		return errRateLimited
	}
	return s.sendSound(c, service.NHN, c.Param("key"), "")
}

func (s *server) nhnVerify(c echo.Context) error {
	app, err := s.nhnApp(c, s.verify)
	if err != nil {
		return err
	}
	_, err = s.svc.Verify(c.Request().Context(), app, c.Param("key"), c.QueryParam("answer"), service.NoChannel)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, nhnSuccessReply)
}

// nhnExpire takes the key from "key", as the document's parameter table says, or from "keys",
// as its example request spells it.
func (s *server) nhnExpire(c echo.Context) error {
	app, err := s.nhnApp(c, s.verify)
	if err != nil {
		return err
	}
	key := c.QueryParam("key")
	if key == "" {
		key = c.QueryParam("keys")
	}
	if key == "" {
		return errMissingParameter
	}
	if err := s.svc.ExpireKey(c.Request().Context(), app, key); err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, nhnSuccessReply)
}
