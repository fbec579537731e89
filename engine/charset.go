package engine

import (
	"crypto/rand"
	_ "embed"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Charset names the alphabet answers are drawn from.
type Charset string

const (
	Alnum  Charset = "alnum"
	Digits Charset = "digits"
	Hangul Charset = "hangul"
)

// alnumRunes leaves out every character that a warped glyph lets a person confuse with
// another: 0/O/Q/D, 1/I/L, 2/Z, 5/S and 8/B (S and 8 stay), and A/4, V/Y and E/F (A, Y and E
// stay), the pairs blind readings of normal challenges confused most. Answers are compared
// case-insensitively, so lower case would only add look-alikes.
const alnumRunes = "ACEGHJKMNPRSTUWXY236789"

const digitRunes = "0123456789"

// hangulText holds common complete syllables chosen so that each one is both seen and heard
// unambiguously: no ㅔ/ㅐ or ㅚ/ㅙ/ㅞ vowels (spoken alike), no tense initials (hard to hear
// apart from plain ones in noise), and finals only among ㄱ ㄴ ㄹ ㅁ ㅂ ㅇ, which keep distinct
// sounds when a syllable is spoken alone. TestHangulCharsetRules enforces this. The list is a
// text file so that scripts/make-fonts.sh subsets the Hangul fonts to exactly these glyphs.
//
//go:embed hangul.txt
var hangulText string

var charsets = map[Charset][]rune{
	Alnum:  []rune(alnumRunes),
	Digits: []rune(digitRunes),
	Hangul: []rune(strings.TrimSpace(hangulText)),
}

// CharsetNames lists the charsets in a stable order, for messages and forms.
func CharsetNames() []string {
	return []string{string(Alnum), string(Digits), string(Hangul)}
}

// Runes returns a copy of the characters of a charset; nil for an unknown one.
func (c Charset) Runes() []rune { return slices.Clone(charsets[c]) }

// Size is how many characters a charset has; 0 for an unknown one.
func (c Charset) Size() int { return len(charsets[c]) }

// NewAnswer draws length characters uniformly from the charset with crypto/rand: the answer
// is the secret, so it never comes from a seeded generator.
func NewAnswer(c Charset, length int) (string, error) {
	alphabet, ok := charsets[c]
	if !ok {
		return "", &FieldError{"charset", quoteIfString(c), strings.Join(CharsetNames(), ", ")}
	}
	if length < MinLength || length > MaxLength {
		return "", &FieldError{"length", length, fmt.Sprintf("%d to %d", MinLength, MaxLength)}
	}
	n := big.NewInt(int64(len(alphabet)))
	var b strings.Builder
	for range length {
		i, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", fmt.Errorf("drawing an answer: %w", err)
		}
		b.WriteRune(alphabet[i.Int64()])
	}
	return b.String(), nil
}
