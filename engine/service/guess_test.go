package service_test

import (
	"testing"

	"captcha/engine"
	"captcha/engine/service"
)

func TestBlindGuess(t *testing.T) {
	for _, tc := range []struct {
		charset  engine.Charset
		length   int
		attempts int
		weak     bool
		oneIn    int64
	}{
		{engine.Digits, 4, 5, true, 2_000}, // the example: 5 / 10^4
		{engine.Digits, 4, 1, true, 10_000},
		{engine.Digits, 5, 1, false, 100_000}, // exactly the limit is not weak
		{engine.Digits, 5, 2, true, 50_000},
		{engine.Digits, 4, 3, true, 3_300}, // 3,333.3 to two significant digits
		{engine.Alnum, 4, 5, true, 56_000}, // 23^4 / 5 = 55,968.2
		{engine.Alnum, 4, 1, false, 280_000},
		{engine.Alnum, 6, 1, false, 150_000_000},
		{engine.Hangul, 4, 5, false, 1_100_000_000},
	} {
		s := service.DefaultAppSettings()
		s.Charset, s.Length, s.MaxAttempts = tc.charset, tc.length, tc.attempts
		g := s.BlindGuess()
		if g.Weak() != tc.weak || g.OneIn() != tc.oneIn {
			t.Errorf("%s, length %d, %d attempts: weak %v, 1 in %d; want %v, 1 in %d (chance %g)",
				tc.charset, tc.length, tc.attempts, g.Weak(), g.OneIn(), tc.weak, tc.oneIn, g.Chance)
		}
	}
	if service.DefaultAppSettings().BlindGuess().Weak() {
		t.Error("the default settings are weak")
	}
	if g := (service.AppSettings{}).BlindGuess(); !g.Weak() || g.OneIn() != 1 {
		t.Errorf("settings without a charset: %+v, 1 in %d", g, g.OneIn())
	}
}
