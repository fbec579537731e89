package service

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxAnswerLength bounds a submitted answer, in characters; longer is a parameter error
// rather than a wrong answer, so that it does not use up an attempt.
const MaxAnswerLength = 64

// normalizeAnswer turns a submitted answer into the form it is compared in (foldAnswer), or
// refuses it, before it can use up an attempt, with an error that wraps ErrBadAnswer:
//
//   - ErrInvalidAnswer for invalid UTF-8, or a character that shows as nothing (a control
//     or format character, a Hangul filler, a variation selector) anywhere but in the white
//     space around the answer. No one types these on purpose: they come from a broken client
//     or from copying and pasting, and a person cannot see them to take them out again.
//   - ErrEmptyAnswer for nothing but white space.
//   - ErrAnswerTooLong for more than MaxAnswerLength characters once the surrounding white
//     space is trimmed. They are counted before normalisation: the limit then means what the
//     client sent, and it bounds the work of normalising what anyone may send, since NFKC
//     turns one character into as many as 18 (U+FDFA). No answer comes near it: the longest,
//     8 Hangul syllables typed as decomposed jamo, is 24 characters.
func normalizeAnswer(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", ErrInvalidAnswer
	}
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return "", ErrEmptyAnswer
	case utf8.RuneCountInString(s) > MaxAnswerLength:
		return "", ErrAnswerTooLong
	case strings.ContainsFunc(s, isInvisible):
		return "", ErrInvalidAnswer
	}
	return foldAnswer(s), nil
}

// foldAnswer is the form in which a submitted answer and the stored one are compared: NFKC,
// trimmed, upper case. NFKC is what makes an answer typed in another form of the same
// characters count:
//
//   - full-width Latin letters and digits, which a Korean or Japanese IME in full-width mode
//     types (ＡＢＣ１２３), fold to ASCII;
//   - Hangul typed as decomposed jamo (NFD, as macOS and some keyboards send it) composes
//     into syllables; so do Hangul compatibility jamo (ㄱㅏ is 가), though only for syllables
//     without a final consonant, since NFKC reads a compatibility jamo as an initial;
//   - other compatibility characters become what they are drawn as: ligatures (ﬁ is FI),
//     superscripts and circled digits (² and ① are 2 and 1), squared units (㎏ is KG).
//
// None of this can make a wrong answer right in a surprising way: every form maps to the
// plain characters it is a variant of, so what it accepts is the answer typed differently,
// never a different answer; and it does not fold look-alikes (Cyrillic А stays Cyrillic).
// Every character the charsets draw is its own fold (TestCharsetsAreTheirOwnFold), so every
// answer can be typed and no two answers fold alike. Upper-casing adds one mapping of its
// own that is not a width or composition variant: the dotless ı becomes I, which no charset
// draws.
func foldAnswer(s string) string {
	return strings.ToUpper(strings.TrimSpace(norm.NFKC.String(s)))
}

// isInvisible is true for what shows as nothing: control and format characters (NUL, the
// zero-width space and joiners, the byte-order mark, bidirectional marks) and the other
// default-ignorable characters (Hangul fillers, variation selectors, the combining grapheme
// joiner).
func isInvisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}
