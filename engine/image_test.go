package engine

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"strings"
	"testing"
)

// testStyle is the style most tests draw in; newStyledRenderer gives others.
var testStyle = StyleFromSecret([]byte("engine tests"))

func newTestRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := NewRenderer(testStyle)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newStyledRenderer returns a renderer in the n-th of a fixed series of styles.
func newStyledRenderer(t testing.TB, n int) *Renderer {
	t.Helper()
	r, err := NewRenderer(StyleFromSecret([]byte(fmt.Sprintf("style %d", n))))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func optionsFor(cs Charset, d Difficulty) Options {
	o := DefaultOptions()
	o.Charset, o.Difficulty = cs, d
	if cs == Hangul {
		o.Lang, o.Length = Korean, 4
	}
	return o
}

func TestImageIsDeterministicPerSeed(t *testing.T) {
	r := newTestRenderer(t)
	o := DefaultOptions()
	seed := Seed{1, 2, 3}
	a, err := r.Image("ACE236", seed, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.Image("ACE236", seed, o)
	if !bytes.Equal(a, b) {
		t.Fatal("same answer and seed gave different images")
	}
	c, _ := r.Image("ACE236", Seed{1, 2, 4}, o)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same image")
	}
}

// The pooled canvases must not carry one drawing into the next, whatever sizes alternate.
func TestImageDoesNotDependOnPreviousDrawings(t *testing.T) {
	r := newTestRenderer(t)
	o := DefaultOptions()
	first, _ := r.Image("ACE236", Seed{9}, o)
	small := o
	small.Width, small.Height = MinWidth, MinHeight
	for range 3 {
		r.Image("XYWKMN", Seed{7}, o)
		r.Image("XYWK", Seed{8}, small)
	}
	again, _ := r.Image("ACE236", Seed{9}, o)
	if !bytes.Equal(first, again) {
		t.Fatal("a drawing depends on what was drawn before it")
	}
}

func TestImageDecodesAtRequestedSize(t *testing.T) {
	r := newTestRenderer(t)
	for _, cs := range []Charset{Alnum, Digits, Hangul} {
		for _, d := range []Difficulty{Easy, Normal, Hard} {
			for _, size := range [][2]int{{MinWidth, MinHeight}, {DefaultWidth, DefaultHeight}, {MaxWidth, MaxHeight}, {300, 41}} {
				t.Run(fmt.Sprintf("%s/%s/%dx%d", cs, d, size[0], size[1]), func(t *testing.T) {
					o := optionsFor(cs, d)
					o.Width, o.Height = size[0], size[1]
					answer, _ := NewAnswer(cs, o.Length)
					data, err := r.Image(answer, Seed{5}, o)
					if err != nil {
						t.Fatal(err)
					}
					m, err := jpeg.Decode(bytes.NewReader(data))
					if err != nil {
						t.Fatal(err)
					}
					if m.Bounds() != image.Rect(0, 0, size[0], size[1]) {
						t.Fatalf("bounds %v", m.Bounds())
					}
				})
			}
		}
	}
}

// The text must actually be drawn: a dark ink covers a fair share of the middle of the image
// and little of its corners.
func TestImageDrawsDarkTextInTheMiddle(t *testing.T) {
	r := newTestRenderer(t)
	data, err := r.Image("ACE236", Seed{3}, optionsFor(Alnum, Easy))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := jpeg.Decode(bytes.NewReader(data))
	dark := 0
	b := m.Bounds()
	for y := b.Dy() / 4; y < b.Dy()*3/4; y++ {
		for x := b.Dx() / 6; x < b.Dx()*5/6; x++ {
			rr, g, bb, _ := m.At(x, y).RGBA()
			if (rr+g+bb)/3>>8 < 110 {
				dark++
			}
		}
	}
	share := float64(dark) / float64(b.Dx()*2/3*b.Dy()/2)
	if share < 0.1 || share > 0.7 {
		t.Fatalf("dark share of the middle is %.2f, want text-like 0.1..0.7", share)
	}
}

func TestImageRejectsBadInput(t *testing.T) {
	r := newTestRenderer(t)
	o := DefaultOptions()
	for _, answer := range []string{"", "ACE0", "abc", "가나"} {
		if _, err := r.Image(answer, Seed{}, o); !errors.Is(err, ErrBadAnswer) {
			t.Errorf("answer %q: %v", answer, err)
		}
	}
	bad := o
	bad.Width = 1000
	if _, err := r.Image("ACE236", Seed{}, bad); err == nil {
		t.Error("width 1000 accepted")
	}
}

// TestFontsCoverCharsets proves every glyph of every charset exists in every embedded font
// that may draw it (NewRenderer fails otherwise) and, bent by a style's hand, still has
// ink.
func TestFontsCoverCharsets(t *testing.T) {
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	if len(a.faces["latin-"]) < 8 || len(a.faces["hangul-"]) < 3 {
		t.Errorf("%d Latin and %d Hangul fonts embedded, want at least 8 and 3", len(a.faces["latin-"]), len(a.faces["hangul-"]))
	}
	for n := range 4 {
		r := newStyledRenderer(t, n)
		for cs, faces := range r.images.look.faces {
			if len(faces) < 2 {
				t.Errorf("%s is drawn with %d fonts, want several", cs, len(faces))
			}
			for _, f := range faces {
				for _, ch := range charsets[cs] {
					g := f.glyphs[ch]
					if g == nil || g.maxX-g.minX <= 0 || g.maxY-g.minY <= 0 {
						t.Errorf("%s has no ink for %q", f.name, ch)
					}
				}
			}
		}
	}
}

// A style is a function of its secret: two renderers of one secret draw a key's image and
// clip to the same bytes, and another secret draws both differently.
func TestStyleFollowsTheSecret(t *testing.T) {
	o := DefaultOptions()
	seed := Seed{4, 2}
	draw := func(secret string) ([]byte, []byte) {
		r, err := NewRenderer(StyleFromSecret([]byte(secret)))
		if err != nil {
			t.Fatal(err)
		}
		img, err := r.Image("ACE236", seed, o)
		if err != nil {
			t.Fatal(err)
		}
		wav, err := r.Audio("ACE236", seed, o)
		if err != nil {
			t.Fatal(err)
		}
		return img, wav
	}
	img1, wav1 := draw("one")
	img2, wav2 := draw("one")
	if !bytes.Equal(img1, img2) || !bytes.Equal(wav1, wav2) {
		t.Fatal("one secret drew one key differently")
	}
	img3, wav3 := draw("two")
	if bytes.Equal(img1, img3) || bytes.Equal(wav1, wav3) {
		t.Fatal("two secrets drew one key alike")
	}
}

// Styles differ in what they are made of, not only in noise: across twenty secrets,
// the fonts mixed, the polarity, the speakers' rates and the room all take several values.
func TestStylesSpanTheirSpace(t *testing.T) {
	fonts, dark, rooms := map[string]bool{}, map[bool]bool{}, map[int]bool{}
	for n := range 20 {
		r := newStyledRenderer(t, n)
		lk := r.images.look
		var names []string
		for _, f := range lk.faces[Alnum] {
			names = append(names, f.name)
		}
		fonts[fmt.Sprint(names)] = true
		dark[lk.dark] = true
		rooms[r.voices.look.room.delay] = true
	}
	if len(fonts) < 12 || len(dark) < 2 || len(rooms) < 12 {
		t.Errorf("20 styles gave %d font mixes, polarities %v and %d rooms", len(fonts), dark, len(rooms))
	}
}

func TestParseStyle(t *testing.T) {
	s := RandomStyle()
	back, err := ParseStyle(s.Secret())
	if err != nil || back != s {
		t.Fatalf("ParseStyle(Secret()) = %v, %v", back.ID(), err)
	}
	if strings.Contains(s.Secret(), s.ID()) {
		t.Error("the ID is part of the secret")
	}
	for _, bad := range []string{"", "zz", s.Secret()[:62], s.Secret() + "00"} {
		if _, err := ParseStyle(bad); err == nil {
			t.Errorf("ParseStyle(%q) accepted", bad)
		}
	}
}

func TestOptionsValidateNamesTheField(t *testing.T) {
	cases := map[string]func(*Options){
		"charset":    func(o *Options) { o.Charset = "latin" },
		"length":     func(o *Options) { o.Length = 9 },
		"difficulty": func(o *Options) { o.Difficulty = "extreme" },
		"width":      func(o *Options) { o.Width = 119 },
		"height":     func(o *Options) { o.Height = 161 },
		"lang":       func(o *Options) { o.Lang = "fr" },
	}
	for field, mutate := range cases {
		o := DefaultOptions()
		mutate(&o)
		var fe *FieldError
		if err := o.Validate(); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
	o := DefaultOptions()
	o.Charset = Hangul
	if err := o.Validate(); err == nil {
		t.Error("hangul spoken in English accepted")
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}
