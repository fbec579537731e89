package service

import "math"

// A bot that never reads a challenge still passes a key when an answer it makes up happens
// to be right. How often depends only on the app's settings: each attempt is one answer out
// of |charset|^length, so a key falls to a blind guess with the chance
// attempts / |charset|^length. The command line and the admin UI warn about settings that
// make that chance large, from this one computation.

// MaxBlindGuessOneIn is the chance above which settings are weak, as "once in N keys": a
// blind guess may pass once in 100,000 keys at most. Issuing a key costs a bot one request,
// so weaker settings let it through by volume alone, without ever looking at an image.
const (
	MaxBlindGuessOneIn  = 100_000
	MaxBlindGuessChance = 1.0 / MaxBlindGuessOneIn
)

// BlindGuess is how likely answers made up without reading the challenge are to pass one key.
type BlindGuess struct {
	Chance float64 // from 0 to 1
}

// BlindGuess is the chance that a key of these settings falls to a blind guess, with every
// attempt used on a different answer.
func (s AppSettings) BlindGuess() BlindGuess {
	size := float64(s.Charset.Size())
	if size < 2 || s.Length < 1 {
		return BlindGuess{Chance: 1} // settings Validate refuses; nothing protects such a key
	}
	attempts := float64(max(s.MaxAttempts, 1))
	return BlindGuess{Chance: min(1, attempts/math.Pow(size, float64(s.Length)))}
}

// Weak says whether a blind guess passes more often than MaxBlindGuessChance allows.
func (g BlindGuess) Weak() bool { return g.Chance > MaxBlindGuessChance }

// OneIn is N of "about 1 in N keys": 1/Chance to two significant digits (2,000; 56,000),
// since the figure is for a person to weigh, not to compute with.
func (g BlindGuess) OneIn() int64 {
	if g.Chance <= 0 {
		return math.MaxInt64
	}
	n := 1 / g.Chance
	if n >= 100 {
		unit := math.Pow(10, math.Floor(math.Log10(n))-1)
		n = math.Round(n/unit) * unit
	}
	if n >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(math.Round(n))
}
