package service

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"captcha/engine"
)

func TestNormalizeAnswer(t *testing.T) {
	cases := []struct {
		name, in, want string
		err            error
	}{
		{"as drawn", "AB3K", "AB3K", nil},
		{"lower case, surrounding white space", " ab3k\t\n", "AB3K", nil},
		{"Hangul", "\t가나\n", "가나", nil},
		{"full-width, as a Korean IME types in full-width mode", "ＡＢＣ１２３", "ABC123", nil},
		{"full-width lower case", "ａｂｃ", "ABC", nil},
		{"ideographic spaces around", "\u3000ACE\u3000", "ACE", nil},
		{"Hangul as decomposed jamo (NFD)", norm.NFD.String("혼탄랑감"), "혼탄랑감", nil},
		{"Hangul compatibility jamo without finals compose", "ㄱㅏㄴㅏ", "가나", nil},
		{"a final compatibility jamo stays apart", "ㄱㅏㄱ", "가\u1100", nil},
		{"a ligature is its letters", "ﬁ", "FI", nil},
		{"a superscript is its digit", "x²", "X2", nil},
		{"a circled digit is its digit", "①", "1", nil},
		{"a squared unit is its letters", "㎏", "KG", nil},
		{"look-alikes from other scripts stay", "АСЕ", "АСЕ", nil}, // Cyrillic
		{"inner space stays", "AB C", "AB C", nil},

		{"empty", "", "", ErrEmptyAnswer},
		{"white space only", " \t\u3000\n", "", ErrEmptyAnswer},
		{"64 characters", strings.Repeat("가", 64), strings.Repeat("가", 64), nil},
		{"65 characters", strings.Repeat("가", 65), "", ErrAnswerTooLong},
		{"64 characters padded", "  " + strings.Repeat("A", 64) + "  ", strings.Repeat("A", 64), nil},
		// Counted before NFKC, which makes 64 characters of U+FDFA into 1,152.
		{"64 characters that expand", strings.Repeat("\uFDFA", 64), strings.ToUpper(norm.NFKC.String(strings.Repeat("\uFDFA", 64))), nil},

		{"NUL", "\x00", "", ErrInvalidAnswer},
		{"invalid UTF-8", "\xFF\xFE", "", ErrInvalidAnswer},
		{"right answer then NUL", "ACE234\x00", "", ErrInvalidAnswer},
		{"zero-width space inside", "ACE\u200B234", "", ErrInvalidAnswer},
		{"zero-width joiner", "가\u200D나", "", ErrInvalidAnswer},
		{"byte-order mark first", "\uFEFFACE234", "", ErrInvalidAnswer},
		{"right-to-left mark", "ACE\u200F234", "", ErrInvalidAnswer},
		{"soft hyphen", "ACE\u00AD234", "", ErrInvalidAnswer},
		{"Hangul filler", "가\u3164나", "", ErrInvalidAnswer},
		{"variation selector", "ACE\uFE0F", "", ErrInvalidAnswer},
		{"escape inside", "AC\x1bE", "", ErrInvalidAnswer},
		{"tab inside", "ACE\t234", "", ErrInvalidAnswer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalizeAnswer(tc.in)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("normalizeAnswer(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
			if err != nil && !errors.Is(err, ErrBadAnswer) {
				t.Fatalf("%v is not an ErrBadAnswer", err)
			}
		})
	}
}

// TestCharsetsAreTheirOwnFold: every character an answer is drawn from folds to itself, so
// every answer can be typed as drawn and no two answers are compared as one.
func TestCharsetsAreTheirOwnFold(t *testing.T) {
	for _, name := range engine.CharsetNames() {
		for _, r := range engine.Charset(name).Runes() {
			if got, err := normalizeAnswer(string(r)); err != nil || got != string(r) {
				t.Errorf("%s: %q normalizes to %q, %v", name, r, got, err)
			}
		}
	}
}
