// Package voices embeds the spoken samples audio challenges are made of: every character
// a charset can hold, spoken alone by several espeak-ng voices (see README.md here for
// their origin and license). scripts/make-voices.sh regenerates them.
//
// The layout is LANG/SPEAKER/XXXX.ul: XXXX is the character's Unicode code point in
// lower-case hex, and the file is raw 8-bit mu-law (G.711) at 11025 Hz, mono, trimmed of
// silence. Mu-law keeps about 13 bits of dynamic range in one byte per sample, half the
// size of 16-bit PCM, which keeps the binary small.
package voices

import "embed"

// FS holds one directory per language ("en", "ko").
//
//go:embed en ko
var FS embed.FS
