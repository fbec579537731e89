package engine

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
)

// Style is a deployment's own way of drawing and speaking challenges: which fonts it mixes
// and how its hand bends every character, its warp, strokes, background and palette, which
// voices speak its answers and how its rooms and distractors sound. It is drawn from a
// secret, so every node that shares the secret draws the same, and nobody without it can.
//
// Why: the generator is open source, so an attacker makes unlimited labelled samples of
// every style there is. What it cannot make is samples of one deployment's style, and a
// recogniser trained on other styles carries over to an unseen one far worse than to its
// own (Ye et al., CCS 2018). The per-key seed still varies everything within the style.
type Style struct {
	key [32]byte
}

// StyleFromSecret derives a deployment's style from its server secret. The derivation is
// keyed apart from the per-key seeds (an HMAC under a fixed label), so the style says
// nothing about the seeds and back.
func StyleFromSecret(secret []byte) Style {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("captcha/style/v1"))
	var s Style
	copy(s.key[:], m.Sum(nil))
	return s
}

// RandomStyle draws a style that no deployment is likely to share, for `captcha gen` runs
// that are not asked to show a server's style.
func RandomStyle() Style {
	var s Style
	rand.Read(s.key[:])
	return s
}

// ParseStyle reads a style written by Style.Secret, so that a generated set can be drawn
// again in the same style.
func ParseStyle(text string) (Style, error) {
	var s Style
	b, err := hex.DecodeString(text)
	if err != nil || len(b) != len(s.key) {
		return s, fmt.Errorf("a style is %d hexadecimal digits", 2*len(s.key))
	}
	copy(s.key[:], b)
	return s, nil
}

// Secret returns the style's key in hexadecimal: whoever holds it draws this style, so a
// server's is never shown; a random style's is, so that its samples can be made again.
func (s Style) Secret() string { return hex.EncodeToString(s.key[:]) }

// ID names the style without revealing it: a short hash an operator can compare between
// nodes and with `captcha gen -style server`.
func (s Style) ID() string {
	sum := sha256.Sum256(append([]byte("captcha/style-id/"), s.key[:]...))
	return hex.EncodeToString(sum[:4])
}

// rng returns a generator of the style's choices for one purpose, so that adding a choice
// to one part (the image) does not shift every choice of another (the audio).
func (s Style) rng(purpose string) *mrand.Rand {
	m := hmac.New(sha256.New, s.key[:])
	m.Write([]byte(purpose))
	var seed [32]byte
	copy(seed[:], m.Sum(nil))
	return mrand.New(mrand.NewChaCha8(seed))
}

// between draws uniformly from [lo, hi).
func between(rng *mrand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
