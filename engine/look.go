package engine

import (
	"math"
	mrand "math/rand/v2"
	"slices"
)

// imageLook is what a style fixes about every image of a deployment. Each field modulates
// the difficulty's ranges (styles) rather than replacing them, so that easy stays easier
// than hard in every style. The ranges only ever make a drawing as hard as its difficulty
// or a little easier, never harder (fewer strokes, less overlap, rotation and shear): a
// blind reading of the first, wider ranges got 24 of 40 right, against 40 of 40 for the
// single style before, because squeezed glyphs, extra strokes and strongly bent letters
// compound.
type imageLook struct {
	// faces are the style's fonts, a few of those embedded, with every glyph bent once by
	// the style's hand: the same letter is a different shape in another deployment.
	faces map[Charset][]*typeface
	// aspect widens or narrows every glyph; slant leans every glyph the same way.
	aspect, slant float64
	// rotate, shear and jitter scale the difficulty's per-glyph ranges.
	rotate, shear, jitter float64
	overlap               float64 // added to both ends of the difficulty's overlap range
	hollow                float64 // scales the share of glyphs drawn as outlines only
	outline               float64 // width of an outline, as a share of the glyph size
	warp                  float64 // scales the warp's amplitude
	warpPeriod            [2]float64
	// arc bends the baseline: the middle of the line sits this share of the height below
	// (or, negative, above) its ends.
	arc         float64
	strokes     int     // added to the difficulty's strokes (never below zero)
	strokeWidth float64 // scales their width
	decoys      float64 // scales the number of decoy glyphs
	decoySize   [2]float64
	grain       float64 // scales the background grain
	bgLum       [2]int  // the background's mean luminance is drawn from this range
	bgSpread    int     // how far each cell of the background's colour field strays
	// dark styles draw light text on a dark background.
	dark bool
	tint [3]int // added to every ink's red, green and blue
}

// facesPerStyle bounds how many of the embedded fonts of each prefix one style mixes: a
// few, so that its glyphs are its own; more than one, so that a reader never sees the same
// shape twice in a row. A slice, not a map: the style's choices must come in a fixed order.
var facesPerStyle = []struct {
	prefix string
	bounds [2]int
}{{"latin-", [2]int{3, 5}}, {"hangul-", [2]int{2, 3}}}

func newImageLook(s Style, all map[string][]*typeface) imageLook {
	rng := s.rng("image")
	l := imageLook{
		aspect:      between(rng, 0.94, 1.12),
		slant:       between(rng, -0.08, 0.14),
		rotate:      between(rng, 0.6, 1.05),
		shear:       between(rng, 0.5, 1.05),
		jitter:      between(rng, 0.6, 1.15),
		overlap:     between(rng, 0, 0.05),
		hollow:      between(rng, 0.3, 0.9),
		outline:     between(rng, 0.065, 0.095),
		warp:        between(rng, 0.6, 1.1),
		warpPeriod:  [2]float64{between(rng, 0.8, 1.6), between(rng, 0.6, 1.4)},
		arc:         between(rng, -0.08, 0.08),
		strokes:     -rng.IntN(2),
		strokeWidth: between(rng, 0.7, 1.05),
		decoys:      between(rng, 0.4, 1.3),
		decoySize:   [2]float64{between(rng, 0.2, 0.35), between(rng, 0.4, 0.6)},
		grain:       between(rng, 0.5, 1.5),
		bgSpread:    20 + rng.IntN(30),
		dark:        rng.IntN(4) == 0,
	}
	lo := 170 + rng.IntN(40)
	l.bgLum = [2]int{lo, lo + 10 + rng.IntN(20)}
	for i := range l.tint {
		l.tint[i] = rng.IntN(41) - 20
	}
	l.faces = make(map[Charset][]*typeface)
	hand := between(rng, 0.01, 0.025) // how far the style's hand bends a glyph, in em
	for _, fp := range facesPerStyle {
		prefix := fp.prefix
		chosen := pickFaces(rng, all[prefix], fp.bounds)
		for i, f := range chosen {
			chosen[i] = bendTypeface(f, rng, hand)
		}
		switch prefix {
		case "latin-":
			l.faces[Alnum], l.faces[Digits] = chosen, chosen
		case "hangul-":
			l.faces[Hangul] = chosen
		}
	}
	return l
}

// pickFaces draws between bounds[0] and bounds[1] of the faces (all of them if fewer).
func pickFaces(rng *mrand.Rand, faces []*typeface, bounds [2]int) []*typeface {
	n := min(bounds[0]+rng.IntN(bounds[1]-bounds[0]+1), len(faces))
	order := rng.Perm(len(faces))[:n]
	slices.Sort(order) // the same faces in the same order, whatever order Perm drew them
	chosen := make([]*typeface, n)
	for i, k := range order {
		chosen[i] = faces[k]
	}
	return chosen
}

// bendTypeface returns a copy of f whose every glyph is bent by its own smooth displacement
// of up to amp em, leaned and stretched a little: the style's handwriting. Done once per
// style, it costs nothing per challenge.
func bendTypeface(f *typeface, rng *mrand.Rand, amp float64) *typeface {
	bent := &typeface{name: f.name, glyphs: make(map[rune]*outline, len(f.glyphs))}
	runes := make([]rune, 0, len(f.glyphs))
	for r := range f.glyphs {
		runes = append(runes, r)
	}
	slices.Sort(runes) // map order is random; the style must not be
	for _, r := range runes {
		bent.glyphs[r] = bendOutline(f.glyphs[r], rng, amp)
	}
	return bent
}

func bendOutline(o *outline, rng *mrand.Rand, amp float64) *outline {
	fx, fy := between(rng, 1.2, 3.0), between(rng, 1.2, 3.0) // waves per em
	px, py := rng.Float64()*2*math.Pi, rng.Float64()*2*math.Pi
	ax, ay := amp*between(rng, 0.5, 1), amp*between(rng, 0.5, 1)
	m := rotation(between(rng, -0.07, 0.07)).scale(between(rng, 0.92, 1.08), between(rng, 0.95, 1.05))
	cx, cy := (o.minX+o.maxX)/2, (o.minY+o.maxY)/2
	out := &outline{minX: math.Inf(1), maxX: math.Inf(-1), minY: math.Inf(1), maxY: math.Inf(-1)}
	out.contours = make([][]vec, len(o.contours))
	for i, contour := range o.contours {
		bent := make([]vec, len(contour))
		for j, p := range contour {
			q := m.apply(vec{p.x - cx, p.y - cy})
			q = vec{
				q.x + ax*math.Sin(2*math.Pi*fx*q.y+px) + cx,
				q.y + ay*math.Sin(2*math.Pi*fy*q.x+py) + cy,
			}
			bent[j] = q
			out.minX, out.maxX = min(out.minX, q.x), max(out.maxX, q.x)
			out.minY, out.maxY = min(out.minY, q.y), max(out.maxY, q.y)
		}
		out.contours[i] = bent
	}
	return out
}
