package engine

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Renderer draws challenges. It holds the parsed fonts and decoded voice samples, which are
// loaded once because parsing them per challenge would cost more than drawing. It is safe
// for concurrent use.
type Renderer struct {
	images *imageDrawer
	voices *voiceBank
	style  Style
}

// NewRenderer returns a renderer that draws and speaks in the given style, from the fonts
// and voices embedded in the binary.
func NewRenderer(s Style) (*Renderer, error) {
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	return &Renderer{
		images: &imageDrawer{look: newImageLook(s, a.faces)},
		voices: newVoiceBank(a.voices, s),
		style:  s,
	}, nil
}

// Style returns the style the renderer draws in.
func (r *Renderer) Style() Style { return r.style }

// assets are the parsed fonts and voices, which every style draws from.
type assets struct {
	faces  map[string][]*typeface
	voices *voiceAssets
}

// loadAssets parses the embedded fonts and voices once per process, however many styles it
// draws in (tests and `captcha gen` make several): parsing costs tens of milliseconds,
// and the result is never written to after.
var loadAssets = sync.OnceValues(func() (*assets, error) {
	faces, err := loadFaces()
	if err != nil {
		return nil, fmt.Errorf("loading fonts: %w", err)
	}
	voices, err := loadVoiceAssets()
	if err != nil {
		return nil, fmt.Errorf("loading voices: %w", err)
	}
	return &assets{faces: faces, voices: voices}, nil
})

// ErrBadAnswer is returned for an answer that is empty or holds a character the charset
// cannot draw or speak.
var ErrBadAnswer = errors.New("answer has characters outside its charset")

// checkAnswer makes sure every rune of the answer belongs to the charset of o.
func checkAnswer(answer string, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if answer == "" {
		return ErrBadAnswer
	}
	for _, r := range answer {
		if !slices.Contains(charsets[o.Charset], r) {
			return fmt.Errorf("%w: %q is not in %s", ErrBadAnswer, r, o.Charset)
		}
	}
	return nil
}
