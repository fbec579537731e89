package engine

import (
	"errors"
	"fmt"
	"slices"
)

// Renderer draws challenges. It holds the parsed fonts and decoded voice samples, which are
// loaded once because parsing them per challenge would cost more than drawing. It is safe
// for concurrent use.
type Renderer struct {
	images *imageDrawer
	voices *voiceBank
}

// NewRenderer loads the fonts and voices embedded in the binary.
func NewRenderer() (*Renderer, error) {
	images, err := newImageDrawer()
	if err != nil {
		return nil, fmt.Errorf("loading fonts: %w", err)
	}
	voices, err := newVoiceBank()
	if err != nil {
		return nil, fmt.Errorf("loading voices: %w", err)
	}
	return &Renderer{images: images, voices: voices}, nil
}

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
