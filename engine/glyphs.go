package engine

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/golang/freetype/truetype"
	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"

	"captcha/fonts"
)

// outline is one glyph flattened to closed polygons in em units (1 = the font size), y down,
// origin on the baseline at the glyph's left bearing. Flattening once at start-up lets every
// challenge bend glyphs with any transform, including the non-linear global warp, without
// touching the font again.
type outline struct {
	contours   [][]vec
	minX, maxX float64 // horizontal extent of the ink
	minY, maxY float64 // vertical extent of the ink (negative is above the baseline)
}

type vec struct{ x, y float64 }

// typeface is one embedded font with the outlines of the characters it may draw.
type typeface struct {
	name   string
	glyphs map[rune]*outline
}

// loadScale is the size glyphs are loaded at before being normalised to em units: large
// enough that rounding to 26.6 fixed point is invisible.
const loadScale = 512

// loadTypefaces parses the embedded fonts whose file names start with prefix and flattens
// the glyphs of runes in each.
func loadTypefaces(prefix string, runes []rune) ([]*typeface, error) {
	names, err := fs.Glob(fonts.FS, prefix+"*.ttf")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no %s*.ttf font is embedded", prefix)
	}
	var faces []*typeface
	for _, name := range names {
		data, err := fonts.FS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := truetype.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		tf := &typeface{name: strings.TrimSuffix(name, ".ttf"), glyphs: make(map[rune]*outline, len(runes))}
		var buf truetype.GlyphBuf
		for _, r := range runes {
			idx := f.Index(r)
			if idx == 0 {
				return nil, fmt.Errorf("%s has no glyph for %q", name, r)
			}
			if err := buf.Load(f, fixed.I(loadScale), idx, font.HintingNone); err != nil {
				return nil, fmt.Errorf("%s: glyph %q: %w", name, r, err)
			}
			o := flatten(&buf)
			if len(o.contours) == 0 {
				return nil, fmt.Errorf("%s: glyph %q is empty", name, r)
			}
			tf.glyphs[r] = o
		}
		faces = append(faces, tf)
	}
	return faces, nil
}

// flatten turns TrueType contours (lines and quadratic curves with implied on-curve
// midpoints) into polygons in em units.
func flatten(g *truetype.GlyphBuf) *outline {
	o := &outline{minX: 1e9, maxX: -1e9, minY: 1e9, maxY: -1e9}
	start := 0
	for _, end := range g.Ends {
		pts := g.Points[start:end]
		start = end
		if len(pts) < 2 {
			continue
		}
		poly := flattenContour(pts)
		for _, p := range poly {
			o.minX, o.maxX = min(o.minX, p.x), max(o.maxX, p.x)
			o.minY, o.maxY = min(o.minY, p.y), max(o.maxY, p.y)
		}
		o.contours = append(o.contours, poly)
	}
	return o
}

func flattenContour(pts []truetype.Point) []vec {
	toVec := func(p truetype.Point) vec {
		// Points are in 26.6 at loadScale with y up; the canvas has y down.
		return vec{float64(p.X) / 64 / loadScale, -float64(p.Y) / 64 / loadScale}
	}
	onCurve := func(p truetype.Point) bool { return p.Flags&1 != 0 }
	n := len(pts)
	// Start from an on-curve point; a contour of only off-curve points starts at the
	// implied midpoint of its first two.
	first := -1
	for i, p := range pts {
		if onCurve(p) {
			first = i
			break
		}
	}
	var startPt vec
	if first >= 0 {
		startPt = toVec(pts[first])
	} else {
		a, b := toVec(pts[0]), toVec(pts[1])
		startPt = vec{(a.x + b.x) / 2, (a.y + b.y) / 2}
		first = 0
	}
	poly := []vec{startPt}
	cur := startPt
	var ctrl vec
	haveCtrl := false
	for k := 1; k <= n; k++ {
		p := pts[(first+k)%n]
		v := toVec(p)
		if onCurve(p) {
			if haveCtrl {
				poly = appendQuad(poly, cur, ctrl, v)
				haveCtrl = false
			} else {
				poly = append(poly, v)
			}
			cur = v
			continue
		}
		if haveCtrl {
			mid := vec{(ctrl.x + v.x) / 2, (ctrl.y + v.y) / 2}
			poly = appendQuad(poly, cur, ctrl, mid)
			cur = mid
		}
		ctrl, haveCtrl = v, true
	}
	if haveCtrl {
		poly = appendQuad(poly, cur, ctrl, startPt)
	}
	return poly
}

// appendQuad flattens the quadratic curve a-b-c (a already in poly) into line segments.
// Four segments keep curves smooth at the sizes challenges are drawn at (under 100 px);
// every segment costs rasterizer time.
func appendQuad(poly []vec, a, b, c vec) []vec {
	const steps = 4
	for i := 1; i <= steps; i++ {
		t := float64(i) / steps
		u := 1 - t
		poly = append(poly, vec{
			u*u*a.x + 2*u*t*b.x + t*t*c.x,
			u*u*a.y + 2*u*t*b.y + t*t*c.y,
		})
	}
	return poly
}
