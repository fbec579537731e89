package engine

import "errors"

// voiceBank is a placeholder until the audio challenge lands.
type voiceBank struct{}

func newVoiceBank() (*voiceBank, error) { return &voiceBank{}, nil }

// ErrNoAudio says that this build cannot speak answers yet.
var ErrNoAudio = errors.New("audio challenges are not available")

// Audio returns a WAV clip that speaks answer.
func (r *Renderer) Audio(answer string, seed Seed, o Options) ([]byte, error) {
	if err := checkAnswer(answer, o); err != nil {
		return nil, err
	}
	return nil, ErrNoAudio
}
