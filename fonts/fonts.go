// Package fonts embeds the TrueType fonts challenges are drawn with. They are subsets of
// free-licensed fonts (see the LICENSE files here), made by scripts/make-fonts.sh; a file's
// name says which script it draws: latin-*.ttf draw the alnum and digits charsets,
// hangul-*.ttf the hangul charset.
package fonts

import "embed"

// FS holds the font files at its root.
//
//go:embed *.ttf
var FS embed.FS
