package admin

import (
	"crypto/rand"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"captcha/engine"
)

// The live preview draws a challenge with the options on the form, before they are saved: a
// fresh random answer and seed each time, and nothing stored.

func (h *Handler) previewImage(c echo.Context) error {
	return h.preview(c, false)
}

func (h *Handler) previewAudio(c echo.Context) error {
	return h.preview(c, true)
}

// previewError is the preview's refusal, for the script to show next to the field.
type previewError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (h *Handler) preview(c echo.Context, audio bool) error {
	if h.renderer == nil {
		return c.String(http.StatusServiceUnavailable, "preview unavailable")
	}
	l := h.catalogs[h.lang(c)]
	o := engine.Options{
		Charset:    engine.Charset(c.QueryParam("charset")),
		Difficulty: engine.Difficulty(c.QueryParam("difficulty")),
		Lang:       engine.Lang(c.QueryParam("lang")),
	}
	for _, n := range []struct {
		field string
		dst   *int
	}{{"length", &o.Length}, {"width", &o.Width}, {"height", &o.Height}} {
		v, err := strconv.Atoi(c.QueryParam(n.field))
		if err != nil {
			return c.JSON(http.StatusBadRequest, previewError{n.field, l.T("form.not_number")})
		}
		*n.dst = v
	}
	if err := o.Validate(); err != nil {
		var fe *engine.FieldError
		if errors.As(err, &fe) {
			return c.JSON(http.StatusBadRequest, previewError{fe.Field, l.T("form.invalid", fe.Allowed)})
		}
		return err
	}
	answer, err := engine.NewAnswer(o.Charset, o.Length)
	if err != nil {
		return err
	}
	var seed engine.Seed
	rand.Read(seed[:])
	if audio {
		wav, err := h.renderer.Audio(answer, seed, o)
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "audio/wav", wav)
	}
	img, err := h.renderer.Image(answer, seed, o)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/jpeg", img)
}
