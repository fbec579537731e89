package engine

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"

	"captcha/engine/voices"
)

// spokenCharsets lists, per language, the charsets whose every character must have samples.
// Options.Validate keeps hangul to Korean.
var spokenCharsets = map[Lang][]Charset{
	English: {Alnum, Digits},
	Korean:  {Alnum, Digits, Hangul},
}

// voiceAssets holds the embedded samples, still mu-law encoded: one byte per sample is a
// quarter of the memory of decoded float32, and a 256-entry table decodes a sample about as
// fast as an int16 would convert. Every style speaks from the same assets.
type voiceAssets struct {
	langs map[Lang]*language
	ulaw  [256]float32
}

// voiceBank speaks in one style.
type voiceBank struct {
	*voiceAssets
	look   voiceLook
	intros map[Lang]*styledIntros
	mixes  sync.Pool // *[]float32 scratch of one clip
}

func newVoiceBank(a *voiceAssets, s Style) *voiceBank {
	b := &voiceBank{voiceAssets: a, look: newVoiceLook(s, a), intros: make(map[Lang]*styledIntros)}
	for l := range a.langs {
		b.intros[l] = new(styledIntros)
	}
	return b
}

// styledIntros are a language's spoken openings played at the style's rate of each speaker,
// made once per style: every clip of that speaker starts with the same opening, so it is
// resampled once instead of in every clip, where it was a tenth of a clip's time.
type styledIntros struct {
	once sync.Once
	pcm  [][]float32 // by speaker index; nil for speakers the style does not use
}

// intro returns speaker sp's opening in the style, at gain 1.
func (b *voiceBank) intro(l Lang, sp speaker) []float32 {
	si := b.intros[l]
	si.once.Do(func() {
		lang := b.langs[l]
		si.pcm = make([][]float32, len(lang.speakers))
		for _, s := range b.look.speakers[l] {
			t := placedTake{take: lang.intros[s.index], step: [2]float64{s.rate, s.rate}, gain: 1}
			si.pcm[s.index] = make([]float32, t.length())
			addResampled(si.pcm[s.index], &t)
		}
	})
	return si.pcm[sp.index]
}

// language holds, for every character, one take per speaker, in the same speaker order,
// and each speaker's spoken opening.
type language struct {
	speakers []string
	takes    map[rune][]take
	intros   []take // "Type the characters in this voice.", by speaker
	// decoded fills every take's src, once per process and only for a language that is
	// spoken: Korean's takes decoded are 29 MB.
	decoded sync.Once
}

// introFile is the name of a speaker's spoken opening among its character samples.
const introFile = "intro.ul"

// take is one speaker's sample of one character.
type take struct {
	pcm   []byte  // mu-law
	power float32 // mean square, to keep each character above the background
	// src is pcm decoded and padded for the cubic interpolation: src[k+1] is sample k and
	// the edges repeat (the last three times, see addResampled), so the four neighbours of
	// any position are four loads in a row.
	// Filled by language.decode.
	src []float32
}

// decode fills the src of every take of the language, once.
func (l *language) decode(ulaw *[256]float32) {
	l.decoded.Do(func() {
		fill := func(t *take) {
			last := len(t.pcm) - 1
			src := make([]float32, len(t.pcm)+4)
			for k, v := range t.pcm {
				src[k+1] = ulaw[v]
			}
			src[0] = src[1]
			for k := last + 2; k < len(src); k++ {
				src[k] = src[last+1]
			}
			t.src = src
		}
		for _, versions := range l.takes {
			for i := range versions {
				fill(&versions[i])
			}
		}
		for i := range l.intros {
			fill(&l.intros[i])
		}
	})
}

func loadVoiceAssets() (*voiceAssets, error) {
	b := &voiceAssets{langs: make(map[Lang]*language)}
	for i := range b.ulaw {
		b.ulaw[i] = float32(ulawDecode(byte(i))) / 32768
	}
	for _, l := range []Lang{English, Korean} {
		lang, err := b.loadLanguage(voices.FS, string(l))
		if err != nil {
			return nil, err
		}
		for _, cs := range spokenCharsets[l] {
			for _, r := range charsets[cs] {
				if len(lang.takes[r]) != len(lang.speakers) {
					return nil, fmt.Errorf("voices/%s: %q of the %s charset has %d of %d speakers",
						l, r, cs, len(lang.takes[r]), len(lang.speakers))
				}
			}
		}
		b.langs[l] = lang
	}
	return b, nil
}

// loadLanguage reads dir/SPEAKER/XXXX.ul files, XXXX being a code point in hex.
func (b *voiceAssets) loadLanguage(fsys fs.FS, dir string) (*language, error) {
	speakers, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	lang := &language{takes: make(map[rune][]take)}
	for _, sp := range speakers {
		if !sp.IsDir() {
			continue
		}
		lang.speakers = append(lang.speakers, sp.Name())
		files, err := fs.ReadDir(fsys, path.Join(dir, sp.Name()))
		if err != nil {
			return nil, err
		}
		hasIntro := false
		for _, f := range files {
			name := path.Join(dir, sp.Name(), f.Name())
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, err
			}
			// Four samples is the least the cubic interpolation of a take can work on.
			if len(data) < 4 {
				return nil, fmt.Errorf("voices/%s: empty sample", name)
			}
			var sum float64
			for _, u := range data {
				v := float64(b.ulaw[u])
				sum += v * v
			}
			t := take{pcm: data, power: float32(sum / float64(len(data)))}
			if f.Name() == introFile {
				lang.intros, hasIntro = append(lang.intros, t), true
				continue
			}
			hex, ok := strings.CutSuffix(f.Name(), ".ul")
			cp, err := strconv.ParseUint(hex, 16, 32)
			if !ok || err != nil {
				return nil, fmt.Errorf("voices/%s: not a code point sample", name)
			}
			lang.takes[rune(cp)] = append(lang.takes[rune(cp)], t)
		}
		if !hasIntro {
			return nil, fmt.Errorf("voices/%s/%s: no %s", dir, sp.Name(), introFile)
		}
	}
	if len(lang.speakers) == 0 {
		return nil, fmt.Errorf("voices/%s: no speakers", dir)
	}
	return lang, nil
}

// ulawDecode expands a G.711 mu-law byte to 16-bit linear PCM.
func ulawDecode(u byte) int16 {
	u = ^u
	exp := (u >> 4) & 7
	mag := (int32(u&0x0f)<<3 + 0x84) << exp
	if u&0x80 != 0 {
		return int16(0x84 - mag)
	}
	return int16(mag - 0x84)
}

// mix returns a zeroed scratch buffer of n samples; give it back with putMix.
func (b *voiceBank) mix(n int) *[]float32 {
	m, _ := b.mixes.Get().(*[]float32)
	if m == nil {
		m = new([]float32)
	}
	if cap(*m) < n {
		*m = make([]float32, n)
	}
	*m = (*m)[:n]
	clear(*m)
	return m
}

func (b *voiceBank) putMix(m *[]float32) { b.mixes.Put(m) }
