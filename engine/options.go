// Package engine draws CAPTCHA challenges: warped-text JPEG images and spoken WAV clips of
// the same answer. It knows nothing of keys, storage or HTTP: callers hand it an answer and a
// seed, and the same pair always yields the same bytes, so a challenge reloaded by an attacker
// cannot be averaged into a cleaner copy.
package engine

import (
	"fmt"
	"strings"
)

// Seed fixes every random choice made while drawing one challenge. Services derive it from a
// server secret and the key (an HMAC), so every process that shares the secret renders a key
// identically.
type Seed [32]byte

// Difficulty trades readability for resistance to machine reading.
type Difficulty string

const (
	Easy   Difficulty = "easy"
	Normal Difficulty = "normal"
	Hard   Difficulty = "hard"
)

// Lang is the language an audio challenge is spoken in.
type Lang string

const (
	English Lang = "en"
	Korean  Lang = "ko"
)

// DefaultLang is the language a charset is spoken in when none is chosen: Korean for
// Hangul, which only Korean can speak, English otherwise.
func DefaultLang(c Charset) Lang {
	if c == Hangul {
		return Korean
	}
	return English
}

// Limits of what the engine accepts; callers (config, admin UI) validate against these.
const (
	MinLength, MaxLength, DefaultLength = 4, 8, 6
	MinWidth, MaxWidth, DefaultWidth    = 120, 480, 240
	MinHeight, MaxHeight, DefaultHeight = 40, 160, 80
)

// Options say what kind of challenge to draw.
type Options struct {
	Charset    Charset
	Length     int
	Difficulty Difficulty
	Width      int
	Height     int
	Lang       Lang
}

// DefaultOptions are what a new application gets: six alphanumerics, normal difficulty,
// 240x80, spoken in English.
func DefaultOptions() Options {
	return Options{
		Charset:    Alnum,
		Length:     DefaultLength,
		Difficulty: Normal,
		Width:      DefaultWidth,
		Height:     DefaultHeight,
		Lang:       English,
	}
}

// FieldError names the option that is wrong, the value given and what is allowed, so that
// every caller (config file, CLI flag, admin form) can show the same precise message.
type FieldError struct {
	Field   string
	Value   any
	Allowed string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %v is not allowed (allowed: %s)", e.Field, e.Value, e.Allowed)
}

// Validate reports the first option that the engine cannot draw.
func (o Options) Validate() error {
	if _, ok := charsets[o.Charset]; !ok {
		return &FieldError{"charset", quoteIfString(o.Charset), strings.Join(CharsetNames(), ", ")}
	}
	if o.Length < MinLength || o.Length > MaxLength {
		return &FieldError{"length", o.Length, fmt.Sprintf("%d to %d", MinLength, MaxLength)}
	}
	switch o.Difficulty {
	case Easy, Normal, Hard:
	default:
		return &FieldError{"difficulty", quoteIfString(o.Difficulty), "easy, normal, hard"}
	}
	if o.Width < MinWidth || o.Width > MaxWidth {
		return &FieldError{"width", o.Width, fmt.Sprintf("%d to %d", MinWidth, MaxWidth)}
	}
	if o.Height < MinHeight || o.Height > MaxHeight {
		return &FieldError{"height", o.Height, fmt.Sprintf("%d to %d", MinHeight, MaxHeight)}
	}
	switch o.Lang {
	case English, Korean:
	default:
		return &FieldError{"lang", quoteIfString(o.Lang), "en, ko"}
	}
	if o.Charset == Hangul && o.Lang != Korean {
		return &FieldError{"lang", quoteIfString(o.Lang), "ko (the hangul charset is spoken in Korean only)"}
	}
	return nil
}

func quoteIfString[T ~string](v T) string { return fmt.Sprintf("%q", string(v)) }
