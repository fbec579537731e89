package engine

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/golang/freetype/raster"
	"golang.org/x/image/math/fixed"
)

// jpegQuality is the standard library's default: a 240x80 challenge is about 6 KB, and
// higher qualities cost encode time without making the text easier for a person to read.
const jpegQuality = 75

// style holds what one difficulty does to the text. Every range is drawn per glyph (or per
// challenge) from the seeded generator.
type style struct {
	rotate      float64 // maximum rotation, radians either way
	shear       float64 // maximum horizontal shear factor either way
	scaleJitter float64 // glyph x/y scale varies by ±this
	overlap     [2]float64
	warp        float64 // amplitude of the global warp, as a fraction of the height
	strokes     int     // interference strokes in the text colour
	strokeWidth float64 // their widest point, as a fraction of the height
	decoys      int     // faint small glyphs behind the text
	grain       int     // amplitude of per-pixel background noise
	// What varies from one challenge to the next without troubling a reader, so that a
	// model trained on generated samples sees each character in ever new places and shapes.
	fill   [2]float64 // share of the width the text fills
	lift   float64    // the whole line moves up or down by up to this share of the height
	hollow float64    // chance that a glyph is drawn as its outline only
}

var styles = map[Difficulty]style{
	Easy: {rotate: 0.18, shear: 0.12, scaleJitter: 0.06, overlap: [2]float64{0.92, 1.0},
		warp: 0.03, strokes: 1, strokeWidth: 0.035, decoys: 2, grain: 10,
		fill: [2]float64{0.78, 0.88}, lift: 0.06},
	Normal: {rotate: 0.26, shear: 0.18, scaleJitter: 0.12, overlap: [2]float64{0.84, 0.95},
		warp: 0.06, strokes: 1, strokeWidth: 0.05, decoys: 7, grain: 16,
		fill: [2]float64{0.68, 0.9}, lift: 0.12, hollow: 0.3},
	Hard: {rotate: 0.45, shear: 0.35, scaleJitter: 0.16, overlap: [2]float64{0.70, 0.84},
		warp: 0.08, strokes: 2, strokeWidth: 0.055, decoys: 8, grain: 20,
		fill: [2]float64{0.64, 0.9}, lift: 0.14, hollow: 0.4},
}

// imageDrawer owns a style's look and a pool of canvases, so that a steady stream of
// challenges allocates little more than the JPEG it returns.
type imageDrawer struct {
	look     imageLook
	canvases sync.Pool
}

// loadFaces parses and flattens every embedded font, by file name prefix: "latin-" fonts
// draw the alnum and digits charsets, "hangul-" fonts the hangul one.
func loadFaces() (map[string][]*typeface, error) {
	latinRunes := append(Alnum.Runes(), Digits.Runes()...)
	latin, err := loadTypefaces("latin-", latinRunes)
	if err != nil {
		return nil, err
	}
	hangul, err := loadTypefaces("hangul-", Hangul.Runes())
	if err != nil {
		return nil, err
	}
	return map[string][]*typeface{"latin-": latin, "hangul-": hangul}, nil
}

// canvas is the reusable scratch space of one drawing.
type canvas struct {
	img   *image.YCbCr
	ras   *raster.Rasterizer
	out   bytes.Buffer
	warpX []float64 // horizontal displacement by row
	warpY []float64 // vertical displacement by column
	ink   []ycc     // ink colour by column
	ops   []vec     // scratch for one polygon
	band  []vec     // scratch for the band around one contour
}

type rgb struct{ r, g, b uint8 }

type ycc struct{ y, cb, cr uint8 }

func (d *imageDrawer) canvas(w, h int) *canvas {
	c, _ := d.canvases.Get().(*canvas)
	if c == nil {
		c = &canvas{ras: raster.NewRasterizer(w, h)}
	}
	if c.img == nil || c.img.Rect.Dx() != w || c.img.Rect.Dy() != h {
		// Drawing in the JPEG's own colour space, with chroma already at quarter
		// resolution, spares the encoder its colour conversion and the background three
		// quarters of its chroma work.
		c.img = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		c.ras.SetBounds(w, h)
		c.warpX = make([]float64, h+1)
		c.warpY = make([]float64, w+1)
		c.ink = make([]ycc, w)
	}
	c.ras.UseNonZeroWinding = true
	c.out.Reset()
	return c
}

// Image draws answer as a JPEG. Every random choice comes from seed, so the same answer,
// seed and options give the same bytes.
func (r *Renderer) Image(answer string, seed Seed, o Options) ([]byte, error) {
	if err := checkAnswer(answer, o); err != nil {
		return nil, err
	}
	return r.images.draw([]rune(answer), seed, o)
}

func (d *imageDrawer) draw(text []rune, seed Seed, o Options) ([]byte, error) {
	rng := rand.New(rand.NewChaCha8(seed))
	st, lk := styles[o.Difficulty], &d.look
	faces := lk.faces[o.Charset]
	c := d.canvas(o.Width, o.Height)
	defer d.canvases.Put(c)

	w, h := float64(o.Width), float64(o.Height)
	c.setWarp(rng, w, h, st.warp*lk.warp*h, lk.warpPeriod)
	bgLum := paintBackground(c.img, rng, lk, int(float64(st.grain)*lk.grain))

	// Faint decoy glyphs sit behind the text in an ink nearer the background's: a person
	// reads past them, but they survive the thresholds that strip a plain background.
	textLum, decoyLum := 40, bgLum-70
	if lk.dark {
		textLum, decoyLum = 215, bgLum+40
	}
	decoyInk := lk.inkNear(rng, decoyLum)
	c.fillInk(decoyInk, decoyInk)
	alphabet := charsets[o.Charset]
	for range int(math.Round(float64(st.decoys) * lk.decoys)) {
		g := faces[rng.IntN(len(faces))].glyphs[alphabet[rng.IntN(len(alphabet))]]
		size := h * between(rng, lk.decoySize[0], lk.decoySize[1])
		m := rotation(rng.Float64()*2*math.Pi-math.Pi).scale(size, size)
		c.addGlyph(g, m, vec{rng.Float64() * w, rng.Float64() * h}, false)
		c.fill()
	}

	c.fillInk(lk.inkNear(rng, textLum), lk.inkNear(rng, textLum+15))
	c.layoutText(rng, text, faces, st, lk, w, h)
	// Every difficulty crosses its text at least once, whatever the style.
	for range max(st.strokes+lk.strokes, 1) {
		c.addStroke(rng, w, h, st.strokeWidth*lk.strokeWidth*h)
		c.fill()
	}

	if err := jpeg.Encode(flushBuffer{&c.out}, c.img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, fmt.Errorf("encoding jpeg: %w", err)
	}
	return bytes.Clone(c.out.Bytes()), nil
}

// flushBuffer gives bytes.Buffer the Flush method image/jpeg looks for, so that the encoder
// writes straight into it instead of allocating a bufio.Writer per image.
type flushBuffer struct{ *bytes.Buffer }

func (flushBuffer) Flush() error { return nil }

// placedGlyph is a glyph with its per-glyph transform, before it is positioned.
type placedGlyph struct {
	g       *outline
	m       affine
	advance float64 // how far the next glyph starts, at size 1: ink width less the overlap
}

// layoutText places the glyphs left to right so that neighbours overlap by a random share
// of their width (segmentation by gaps fails), scales the row to fill the style's share of
// the width, and adds them to the rasterizer.
func (c *canvas) layoutText(rng *rand.Rand, text []rune, faces []*typeface, st style, lk *imageLook, w, h float64) {
	glyphs := make([]placedGlyph, len(text))
	var total, tallest float64
	jitter := st.scaleJitter * lk.jitter
	overlap := [2]float64{st.overlap[0] + lk.overlap, min(st.overlap[1]+lk.overlap, 1)}
	for i, ch := range text {
		g := faces[rng.IntN(len(faces))].glyphs[ch]
		sx := (1 + jitter*(2*rng.Float64()-1)) * lk.aspect
		sy := 1 + jitter*(2*rng.Float64()-1)
		m := rotation(st.rotate*lk.rotate*(2*rng.Float64()-1)).
			mul(shear(st.shear*lk.shear*(2*rng.Float64()-1)+lk.slant)).
			scale(sx, sy)
		x0, x1, y0, y1 := m.bounds(g)
		advance := x1 - x0
		if i < len(text)-1 {
			advance *= between(rng, overlap[0], overlap[1])
		}
		glyphs[i] = placedGlyph{g: g, m: m, advance: advance}
		total += advance
		tallest = max(tallest, y1-y0)
	}
	fill := st.fill[0] + (st.fill[1]-st.fill[0])*rng.Float64()
	size := min(w*fill/total, h*0.72/tallest)
	// A small margin on each side keeps the warp from pushing the outer glyphs off the edge.
	margin := w * 0.03
	x := margin + max(w-2*margin-total*size, 0)*rng.Float64()
	// The line may move only as far as keeps its tallest glyph, jittered and warped, inside
	// the image.
	arc := lk.arc * h
	room := max((h-tallest*size)/2-h*(0.05+st.warp*lk.warp)-math.Abs(arc)/2, 0)
	baseline := h/2 + min(h*st.lift, room)*(2*rng.Float64()-1)
	start, span := x, max(total*size, 1)
	for _, pg := range glyphs {
		// The arc: u runs from -1 at the line's start to 1 at its end, and the middle sits
		// arc below the ends (centred so the line keeps its place).
		u := 2*(x+pg.advance*size/2-start)/span - 1
		cy := baseline + arc*(0.5-u*u) + h*0.05*(2*rng.Float64()-1)
		center := vec{x + pg.advance*size/2, cy}
		m := pg.m.scale(size, size)
		if rng.Float64() < st.hollow*lk.hollow {
			c.addOutline(pg.g, m, center, size*lk.outline)
		} else {
			c.addGlyph(pg.g, m, center, true)
		}
		c.fill()
		x += pg.advance * size
	}
}

// addGlyph adds a glyph's polygons to the rasterizer: centred on its ink, transformed by m,
// moved to center and, when warped, bent by the global warp.
func (c *canvas) addGlyph(g *outline, m affine, center vec, warped bool) {
	cx, cy := (g.minX+g.maxX)/2, (g.minY+g.maxY)/2
	for _, contour := range g.contours {
		c.ops = c.ops[:0]
		for _, p := range contour {
			q := m.apply(vec{p.x - cx, p.y - cy})
			c.ops = append(c.ops, vec{q.x + center.x, q.y + center.y})
		}
		c.addPolygon(c.ops, warped)
	}
}

// addOutline adds only the outline of a glyph, width pixels thick, with the same transform
// and warp as addGlyph. Each contour becomes one band: out along its left side and back
// along its right, so every band winds the same way whatever the contour's direction, and
// bands that touch fill as one under the non-zero rule.
func (c *canvas) addOutline(g *outline, m affine, center vec, width float64) {
	cx, cy := (g.minX+g.maxX)/2, (g.minY+g.maxY)/2
	for _, contour := range g.contours {
		n := len(contour)
		c.ops = c.ops[:0]
		for _, p := range contour {
			q := m.apply(vec{p.x - cx, p.y - cy})
			c.ops = append(c.ops, vec{q.x + center.x, q.y + center.y})
		}
		c.band = c.band[:0]
		for _, sign := range [2]float64{1, -1} {
			for k := 0; k <= n; k++ {
				i := k % n
				if sign < 0 {
					i = (n - k) % n
				}
				// The normal at a vertex is the mean of its two edges' normals.
				a, b := c.ops[(i+n-1)%n], c.ops[(i+1)%n]
				dx, dy := b.x-a.x, b.y-a.y
				l := math.Hypot(dx, dy) + 1e-9
				half := sign * width / 2
				c.band = append(c.band, vec{c.ops[i].x - dy/l*half, c.ops[i].y + dx/l*half})
			}
		}
		c.addPolygon(c.band, true)
	}
}

// addStroke adds a tapered curve in the text's colour that crosses the text from side to
// side. It is as thick as a glyph's stem at its middle, so a morphological filter that
// removes it removes the glyphs too.
func (c *canvas) addStroke(rng *rand.Rand, w, h, width float64) {
	p0 := vec{w * 0.05 * rng.Float64(), h * (0.25 + 0.5*rng.Float64())}
	p1 := vec{w * (0.2 + 0.2*rng.Float64()), h * rng.Float64()}
	p2 := vec{w * (0.6 + 0.2*rng.Float64()), h * rng.Float64()}
	p3 := vec{w * (1 - 0.05*rng.Float64()), h * (0.25 + 0.5*rng.Float64())}
	const n = 24
	var centre [n + 1]vec
	for i := range centre {
		t := float64(i) / n
		u := 1 - t
		centre[i] = vec{
			u*u*u*p0.x + 3*u*u*t*p1.x + 3*u*t*t*p2.x + t*t*t*p3.x,
			u*u*u*p0.y + 3*u*u*t*p1.y + 3*u*t*t*p2.y + t*t*t*p3.y,
		}
	}
	c.ops = c.ops[:0]
	side := func(sign float64) {
		for k := range centre {
			i := k
			if sign < 0 {
				i = n - k
			}
			a, b := centre[max(i-1, 0)], centre[min(i+1, n)]
			dx, dy := b.x-a.x, b.y-a.y
			l := math.Hypot(dx, dy) + 1e-9
			half := sign * width / 2 * (0.45 + 0.55*math.Sin(math.Pi*float64(i)/n))
			c.ops = append(c.ops, vec{centre[i].x - dy/l*half, centre[i].y + dx/l*half})
		}
	}
	side(1)
	side(-1)
	c.addPolygon(c.ops, true)
}

// fill paints what has been added to the rasterizer in the current ink and clears it. Each
// glyph and stroke is a pass of its own: the rasterizer looks cells up in a list per row,
// so many shapes on one row in one pass cost quadratically, and separate passes also keep
// overlapping shapes from cancelling each other's winding.
func (c *canvas) fill() {
	c.ras.Rasterize(c)
	c.ras.Clear()
}

// addPolygon adds a closed polygon, subdividing long edges so that the warp bends them
// instead of moving only their ends.
func (c *canvas) addPolygon(pts []vec, warped bool) {
	const maxSegment = 6.0 // pixels
	if len(pts) < 3 {
		return
	}
	put := func(p vec, first bool) {
		if warped {
			p = c.warp(p)
		}
		fp := fixed.Point26_6{X: fixed.Int26_6(p.x * 64), Y: fixed.Int26_6(p.y * 64)}
		if first {
			c.ras.Start(fp)
		} else {
			c.ras.Add1(fp)
		}
	}
	put(pts[0], true)
	for i := 1; i <= len(pts); i++ {
		a, b := pts[i-1], pts[i%len(pts)]
		if warped {
			if steps := int(math.Hypot(b.x-a.x, b.y-a.y) / maxSegment); steps > 0 {
				for s := 1; s <= steps; s++ {
					t := float64(s) / float64(steps+1)
					put(vec{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t}, false)
				}
			}
		}
		put(b, false)
	}
}

// setWarp fills the displacement tables of the global warp: every row is shifted
// sideways and every column up or down by a sum of two slow sines. Tables instead of a
// sine per point keep the warp almost free.
func (c *canvas) setWarp(rng *rand.Rand, w, h, amp float64, period [2]float64) {
	wave := func(table []float64, period float64) {
		f1 := 2 * math.Pi / (period * (0.7 + 0.6*rng.Float64()))
		f2 := f1 * (1.8 + 0.6*rng.Float64())
		p1, p2 := rng.Float64()*2*math.Pi, rng.Float64()*2*math.Pi
		a1, a2 := amp*(0.7+0.3*rng.Float64()), amp*0.35*rng.Float64()
		for i := range table {
			t := float64(i)
			table[i] = a1*math.Sin(f1*t+p1) + a2*math.Sin(f2*t+p2)
		}
	}
	wave(c.warpX, h*1.2*period[0])
	wave(c.warpY, w*0.45*period[1])
}

func (c *canvas) warp(p vec) vec {
	return vec{p.x + lookup(c.warpX, p.y), p.y + lookup(c.warpY, p.x)}
}

// lookup interpolates a displacement table, clamping outside it.
func lookup(t []float64, at float64) float64 {
	if at <= 0 {
		return t[0]
	}
	i := int(at)
	if i >= len(t)-1 {
		return t[len(t)-1]
	}
	f := at - float64(i)
	return t[i]*(1-f) + t[i+1]*f
}

// fillInk sets the colour the next rasterization paints: a gradient from left to right,
// so no single colour separates the ink from the rest.
func (c *canvas) fillInk(left, right rgb) {
	n := len(c.ink)
	for x := range c.ink {
		t := float64(x) / float64(max(n-1, 1))
		mix := func(a, b uint8) uint8 { return uint8(float64(a)*(1-t) + float64(b)*t) }
		y, cb, cr := color.RGBToYCbCr(mix(left.r, right.r), mix(left.g, right.g), mix(left.b, right.b))
		c.ink[x] = ycc{y, cb, cr}
	}
}

// Paint implements raster.Painter: it blends the ink over the image under each span. Blending
// is linear, so it is as right in YCbCr as in RGB; chroma is blended once per 2x2 block, at
// its top-left pixel.
func (c *canvas) Paint(spans []raster.Span, _ bool) {
	m := c.img
	for _, s := range spans {
		if s.Y < 0 || s.Y >= m.Rect.Max.Y {
			continue
		}
		x0, x1 := max(s.X0, 0), min(s.X1, m.Rect.Max.X)
		a := s.Alpha >> 8
		na := 255 - a
		luma := m.Y[s.Y*m.YStride:]
		for x := x0; x < x1; x++ {
			luma[x] = blend(c.ink[x].y, luma[x], a, na)
		}
		if s.Y&1 != 0 {
			continue
		}
		cRow := (s.Y / 2) * m.CStride
		cb, cr := m.Cb[cRow:], m.Cr[cRow:]
		for x := (x0 + 1) &^ 1; x < x1; x += 2 {
			ink := c.ink[x]
			cb[x/2] = blend(ink.cb, cb[x/2], a, na)
			cr[x/2] = blend(ink.cr, cr[x/2], a, na)
		}
	}
}

// blend mixes ink over base with alpha a (and na = 255-a); the multiply-shift divides by
// 255 exactly for these ranges, without a division per pixel.
func blend(ink, base uint8, a, na uint32) uint8 {
	v := uint32(ink)*a + uint32(base)*na + 128
	return uint8((v + v>>8) >> 8)
}

// inkNear returns a colour of about the given luminance with a random hue, leaning to the
// style's tint.
func (lk *imageLook) inkNear(rng *rand.Rand, lum int) rgb {
	var v [3]int
	for i := range v {
		v[i] = clamp8(lum + lk.tint[i] + rng.IntN(61) - 30)
	}
	return rgb{uint8(v[0]), uint8(v[1]), uint8(v[2])}
}

// The background's colour field is interpolated from a grid of this many cells.
const bgCols, bgRows = 6, 3

// bgGrid is one plane of the grid, in 16.16 fixed point.
type bgGrid [bgRows + 1][bgCols + 1]int32

// paintBackground fills the image with a smooth field of light colours (bilinear over a
// coarse random grid) plus grain in the luma, and returns its mean luminance. A textured
// background has no single colour that a filter can remove. Fixed-point steps along each
// row keep it to a few additions per pixel.
func paintBackground(m *image.YCbCr, rng *rand.Rand, lk *imageLook, grain int) int {
	base := lk.bgLum[0] + rng.IntN(lk.bgLum[1]-lk.bgLum[0]+1)
	if lk.dark {
		base = 255 - base
	}
	spread := lk.bgSpread
	var grid [3]bgGrid // Y, Cb and Cr
	for j := range bgRows + 1 {
		for i := range bgCols + 1 {
			y, cb, cr := color.RGBToYCbCr(
				uint8(clamp8(base+lk.tint[0]/2+rng.IntN(2*spread+1)-spread)),
				uint8(clamp8(base+lk.tint[1]/2+rng.IntN(2*spread+1)-spread)),
				uint8(clamp8(base+lk.tint[2]/2+rng.IntN(2*spread+1)-spread)))
			grid[0][j][i], grid[1][j][i], grid[2][j][i] = int32(y)<<16, int32(cb)<<16, int32(cr)<<16
		}
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	addGrain(m.Y, m.YStride, w, h, &grid[0], rng.Uint32()|1, grain)
	fillPlane(m.Cb, m.CStride, cw, ch, &grid[1])
	fillPlane(m.Cr, m.CStride, cw, ch, &grid[2])
	return base
}

// addGrain fills the luma plane like fillPlane and adds noise of ±grain to every pixel
// (xorshift32, scaled without a division). It is fillPlane written out, because a callback
// per pixel costs as much as the rest of the background.
func addGrain(plane []uint8, stride, w, h int, grid *bgGrid, noise uint32, grain int) {
	const cols, rows = bgCols, bgRows
	spread := uint64(2*grain + 1)
	for y := range h {
		fy := y * rows * 256 / h
		j := min(fy>>8, rows-1)
		ty := int32(fy - j<<8)
		row := plane[y*stride : y*stride+w]
		for i := range cols {
			x0, x1 := i*w/cols, (i+1)*w/cols
			left := grid[j][i] + (grid[j+1][i]-grid[j][i])>>8*ty
			right := grid[j][i+1] + (grid[j+1][i+1]-grid[j][i+1])>>8*ty
			v, dv := left-int32(grain)<<16, (right-left)/int32(max(x1-x0, 1))
			for x := x0; x < x1; x++ {
				noise ^= noise << 13
				noise ^= noise >> 17
				noise ^= noise << 5
				p := v>>16 + int32(uint64(noise)*spread>>32)
				row[x] = uint8(min(max(p, 0), 255))
				v += dv
			}
		}
	}
}

// fillPlane interpolates one plane of the background grid over a w x h plane.
func fillPlane(plane []uint8, stride, w, h int, grid *bgGrid) {
	const cols, rows = bgCols, bgRows
	for y := range h {
		fy := y * rows * 256 / h // 8-bit fraction
		j := min(fy>>8, rows-1)
		ty := int32(fy - j<<8)
		row := plane[y*stride : y*stride+w]
		for i := range cols {
			x0, x1 := i*w/cols, (i+1)*w/cols
			left := grid[j][i] + (grid[j+1][i]-grid[j][i])>>8*ty
			right := grid[j][i+1] + (grid[j+1][i+1]-grid[j][i+1])>>8*ty
			v, dv := left, (right-left)/int32(max(x1-x0, 1))
			for x := x0; x < x1; x++ {
				row[x] = uint8(v >> 16)
				v += dv
			}
		}
	}
}

func clamp8(v int) int {
	return min(max(v, 0), 255)
}

// affine is a 2x2 linear map.
type affine struct{ a, b, c, d float64 }

func rotation(t float64) affine {
	s, c := math.Sincos(t)
	return affine{c, -s, s, c}
}

func shear(k float64) affine { return affine{1, k, 0, 1} }

func (m affine) mul(n affine) affine {
	return affine{
		m.a*n.a + m.b*n.c, m.a*n.b + m.b*n.d,
		m.c*n.a + m.d*n.c, m.c*n.b + m.d*n.d,
	}
}

func (m affine) scale(sx, sy float64) affine { return m.mul(affine{sx, 0, 0, sy}) }

func (m affine) apply(p vec) vec { return vec{m.a*p.x + m.b*p.y, m.c*p.x + m.d*p.y} }

// bounds returns the extent of g's ink box, centred on its middle, after m.
func (m affine) bounds(g *outline) (x0, x1, y0, y1 float64) {
	hw, hh := (g.maxX-g.minX)/2, (g.maxY-g.minY)/2
	x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range [4]vec{{-hw, -hh}, {hw, -hh}, {-hw, hh}, {hw, hh}} {
		q := m.apply(p)
		x0, x1 = min(x0, q.x), max(x1, q.x)
		y0, y1 = min(y0, q.y), max(y1, q.y)
	}
	return x0, x1, y0, y1
}
