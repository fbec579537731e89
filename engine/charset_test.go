package engine

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNewAnswerUsesCharsetAndLength(t *testing.T) {
	for _, cs := range []Charset{Alnum, Digits, Hangul} {
		for _, n := range []int{MinLength, DefaultLength, MaxLength} {
			a, err := NewAnswer(cs, n)
			if err != nil {
				t.Fatalf("%s/%d: %v", cs, n, err)
			}
			if got := utf8.RuneCountInString(a); got != n {
				t.Errorf("%s/%d: %q has %d characters", cs, n, a, got)
			}
			for _, r := range a {
				if !slices.Contains(charsets[cs], r) {
					t.Errorf("%s: %q is outside the charset", cs, r)
				}
			}
		}
	}
}

func TestNewAnswerRejectsBadInput(t *testing.T) {
	if _, err := NewAnswer("latin", 6); err == nil || !strings.Contains(err.Error(), "charset") {
		t.Errorf("unknown charset: %v", err)
	}
	for _, n := range []int{0, 3, 9, -1} {
		if _, err := NewAnswer(Alnum, n); err == nil || !strings.Contains(err.Error(), "length") {
			t.Errorf("length %d: %v", n, err)
		}
	}
}

// Every character is about as likely as every other: a biased draw would shrink the
// answer space an attacker has to guess in.
func TestNewAnswerIsRoughlyUniform(t *testing.T) {
	counts := map[rune]int{}
	const draws = 4000
	for range draws {
		a, _ := NewAnswer(Digits, 8)
		for _, r := range a {
			counts[r]++
		}
	}
	want := draws * 8 / 10
	for r, n := range counts {
		if n < want*8/10 || n > want*12/10 {
			t.Errorf("%q drawn %d times, want about %d", r, n, want)
		}
	}
}

func TestAlnumLeavesOutLookAlikes(t *testing.T) {
	for _, r := range "0O1IL5BZQD4VF" + "abcdefghijklmnopqrstuvwxyz" {
		if strings.ContainsRune(alnumRunes, r) {
			t.Errorf("alnum contains the look-alike %q", r)
		}
	}
}

// TestHangulCharsetRules enforces the rules the hangul charset was chosen by.
func TestHangulCharsetRules(t *testing.T) {
	set := charsets[Hangul]
	if len(set) < 200 {
		t.Fatalf("hangul has %d syllables, want at least 200", len(set))
	}
	seen := map[rune]bool{}
	for _, r := range set {
		if seen[r] {
			t.Errorf("%q is listed twice", r)
		}
		seen[r] = true
		if r < 0xAC00 || r > 0xD7A3 {
			t.Fatalf("%q is not a complete Hangul syllable", r)
		}
		s := int(r - 0xAC00)
		initial, vowel, final := s/588, (s%588)/28, s%28
		// Tense initials ㄲ ㄸ ㅃ ㅆ ㅉ.
		switch initial {
		case 1, 4, 8, 10, 13:
			t.Errorf("%q has a tense initial", r)
		}
		// ㅐ ㅒ ㅔ ㅖ ㅙ ㅚ ㅞ ㅢ sound alike in pairs or are unclear spoken alone.
		switch vowel {
		case 1, 3, 5, 7, 10, 11, 15, 19:
			t.Errorf("%q has an ambiguous vowel", r)
		}
		// Finals allowed: none, ㄱ, ㄴ, ㄹ, ㅁ, ㅂ, ㅇ.
		switch final {
		case 0, 1, 4, 8, 16, 17, 21:
		default:
			t.Errorf("%q has a final that is heard like another", r)
		}
	}
}
