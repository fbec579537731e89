package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"path"
	"slices"
	"testing"

	"captcha/engine/voices"

	"github.com/go-audio/wav"
)

// audioCases lists every language with every charset it speaks.
func audioCases() []Options {
	var cases []Options
	for _, l := range []Lang{English, Korean} {
		for _, cs := range spokenCharsets[l] {
			o := DefaultOptions()
			o.Charset, o.Lang = cs, l
			cases = append(cases, o)
		}
	}
	return cases
}

func TestAudioIsDeterministicPerSeed(t *testing.T) {
	r := newTestRenderer(t)
	for _, o := range audioCases() {
		t.Run(fmt.Sprintf("%s/%s", o.Lang, o.Charset), func(t *testing.T) {
			answer, _ := NewAnswer(o.Charset, o.Length)
			seed := Seed{1, 2, 3}
			a, err := r.Audio(answer, seed, o)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := r.Audio(answer, seed, o)
			if !bytes.Equal(a, b) {
				t.Fatal("same answer and seed gave different clips")
			}
			if c, _ := r.Audio(answer, Seed{1, 2, 4}, o); bytes.Equal(a, c) {
				t.Fatal("different seeds gave the same clip")
			}
			other := []rune(answer)
			other[0] = charsets[o.Charset][(slices.Index(charsets[o.Charset], other[0])+1)%len(charsets[o.Charset])]
			if c, _ := r.Audio(string(other), seed, o); bytes.Equal(a, c) {
				t.Fatal("different answers gave the same clip")
			}
		})
	}
}

// The pooled mix buffers must not carry one clip into the next, whatever lengths alternate.
func TestAudioDoesNotDependOnPreviousClips(t *testing.T) {
	r := newTestRenderer(t)
	o := DefaultOptions()
	first, _ := r.Audio("ACE236", Seed{9}, o)
	long := o
	long.Length = MaxLength
	for range 3 {
		r.Audio("WWWWWWWW", Seed{7}, long)
		r.Audio("ACE2", Seed{8}, o)
	}
	again, _ := r.Audio("ACE236", Seed{9}, o)
	if !bytes.Equal(first, again) {
		t.Fatal("a clip depends on what was spoken before it")
	}
}

// Every clip must parse back with go-audio's decoder as the format the header declares,
// with exactly the samples written.
func TestAudioWAVDecodes(t *testing.T) {
	r := newTestRenderer(t)
	for _, o := range audioCases() {
		for _, d := range []Difficulty{Easy, Normal, Hard} {
			for _, length := range []int{MinLength, DefaultLength, MaxLength} {
				t.Run(fmt.Sprintf("%s/%s/%s/%d", o.Lang, o.Charset, d, length), func(t *testing.T) {
					o.Difficulty, o.Length = d, length
					answer, _ := NewAnswer(o.Charset, length)
					data, err := r.Audio(answer, Seed{byte(length), 5}, o)
					if err != nil {
						t.Fatal(err)
					}
					dec := wav.NewDecoder(bytes.NewReader(data))
					if !dec.IsValidFile() {
						t.Fatal("go-audio/wav says the clip is not a valid WAV file")
					}
					if dec.WavAudioFormat != 1 || dec.NumChans != 1 || dec.SampleRate != sampleRate || dec.BitDepth != 8 {
						t.Fatalf("format %d, %d channels, %d Hz, %d bits; want PCM (1), mono, %d Hz, 8 bits",
							dec.WavAudioFormat, dec.NumChans, dec.SampleRate, dec.BitDepth, sampleRate)
					}
					buf, err := dec.FullPCMBuffer()
					if err != nil {
						t.Fatal(err)
					}
					if len(buf.Data) != len(data)-wavHeaderSize {
						t.Fatalf("decoded %d samples from a %d-byte file", len(buf.Data), len(data))
					}
					for i, v := range buf.Data {
						if v != int(data[wavHeaderSize+i]) {
							t.Fatalf("sample %d decodes as %d, wrote %d", i, v, data[wavHeaderSize+i])
						}
					}
					// go-audio's Duration counts the whole RIFF chunk, header included, so the
					// length is checked against the declared rate and data size instead.
					if dec.AvgBytesPerSec != sampleRate || dec.PCMLen() != int64(len(buf.Data)) {
						t.Fatalf("%d bytes a second and %d data bytes declared, want %d and %d",
							dec.AvgBytesPerSec, dec.PCMLen(), sampleRate, len(buf.Data))
					}
				})
			}
		}
	}
}

// A 6-character clip lasts at most 12 seconds and weighs at most 160 KB in every style;
// no answer length makes a clip longer than its budget, however slow its characters.
func TestAudioLengthAndSize(t *testing.T) {
	const maxBytes = 160 * 1000
	for _, o := range audioCases() {
		t.Run(fmt.Sprintf("%s/%s", o.Lang, o.Charset), func(t *testing.T) {
			var longest, biggest int
			for st := range 6 {
				r := newStyledRenderer(t, st)
				for _, d := range []Difficulty{Easy, Normal, Hard} {
					o.Difficulty = d
					for s := range 10 {
						answer, _ := NewAnswer(o.Charset, DefaultLength)
						clip, err := r.Audio(answer, Seed{byte(s), 1}, o)
						if err != nil {
							t.Fatal(err)
						}
						biggest = max(biggest, len(clip))
						longest = max(longest, len(clip)-wavHeaderSize)
					}
				}
			}
			if longest > clipBudget(DefaultLength) || biggest > maxBytes {
				t.Fatalf("6 characters: up to %.2f s and %d bytes; want at most 12 s and %d bytes",
					float64(longest)/sampleRate, biggest, maxBytes)
			}
			t.Logf("6 characters: up to %.2f s, %d bytes", float64(longest)/sampleRate, biggest)

			// The worst case: MaxLength times the character with the longest take, at the
			// slowest rate any style and difficulty reach. Distractors go and gaps shrink to
			// fit; on paper, the answer alone at the slowest rate with every fixed part at
			// its longest fits the budget.
			r := newTestRenderer(t)
			lang := r.voices.langs[o.Lang]
			var slow rune
			for _, ch := range charsets[o.Charset] {
				if slow == 0 || longestTake(lang, ch) > longestTake(lang, slow) {
					slow = ch
				}
			}
			slowest := speakerRateMin * (1 - audioStyles[Hard].rate)
			fixed := 0.6 + toneLength + 0.8 + tail + 0.2 + (MaxLength-1)*answerGap
			if worst := fixed + MaxLength*float64(longestTake(lang, slow))/sampleRate/slowest; worst > float64(clipBudget(MaxLength))/sampleRate {
				t.Fatalf("%d times %q at rate %.2f could last %.2f s", MaxLength, slow, slowest, worst)
			}
			o.Difficulty, o.Length = Hard, MaxLength
			answer := string(slices.Repeat([]rune{slow}, MaxLength))
			for s := range 30 {
				clip, err := newStyledRenderer(t, s%6).Audio(answer, Seed{byte(s), 2}, o)
				if err != nil {
					t.Fatalf("%q: %v", answer, err)
				}
				if n := len(clip) - wavHeaderSize; n > clipBudget(MaxLength) {
					t.Fatalf("%q: %.2f s", answer, float64(n)/sampleRate)
				}
			}
		})
	}
}

func longestTake(l *language, ch rune) int {
	n := 0
	for _, t := range l.takes[ch] {
		n = max(n, len(t.pcm))
	}
	return n
}

// Every character of every charset a language speaks has a sample from every speaker of
// that language, read straight from the embedded files; the voices stay under 8 MB.
func TestVoicesCoverEveryCharset(t *testing.T) {
	total := 0
	for _, l := range []Lang{English, Korean} {
		entries, err := fs.ReadDir(voices.FS, string(l))
		if err != nil {
			t.Fatal(err)
		}
		var speakers []string
		for _, e := range entries {
			if e.IsDir() {
				speakers = append(speakers, e.Name())
			}
		}
		if len(speakers) < 3 {
			t.Errorf("%s: %d speakers, want several", l, len(speakers))
		}
		for _, sp := range speakers {
			if data, err := fs.ReadFile(voices.FS, path.Join(string(l), sp, introFile)); err != nil || len(data) < sampleRate {
				t.Errorf("%s/%s: no spoken opening (%d bytes, %v)", l, sp, len(data), err)
			}
			for _, cs := range spokenCharsets[l] {
				for _, ch := range charsets[cs] {
					name := path.Join(string(l), sp, fmt.Sprintf("%04x.ul", ch))
					data, err := fs.ReadFile(voices.FS, name)
					if err != nil || len(data) < sampleRate/10 {
						t.Errorf("%s charset in %s: %q has no sample from %s (%s: %d bytes, %v)",
							cs, l, ch, sp, name, len(data), err)
					}
				}
			}
		}
	}
	err := fs.WalkDir(voices.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		total += int(info.Size())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 8<<20 {
		t.Errorf("embedded voices weigh %d bytes, over 8 MB", total)
	}
	t.Logf("embedded voices: %d bytes", total)
}

// The hangul charset is spoken only in Korean, and every charset only in a language that
// has its samples: Validate keeps them together, and a bad answer is refused.
func TestAudioRejectsWhatItCannotSpeak(t *testing.T) {
	r := newTestRenderer(t)
	o := optionsFor(Hangul, Normal)
	o.Lang = English
	var fe *FieldError
	if _, err := r.Audio("가나다라", Seed{}, o); !errors.As(err, &fe) || fe.Field != "lang" {
		t.Fatalf("hangul in English: %v, want a lang FieldError", err)
	}
	if _, err := r.Audio("ACEB", Seed{}, DefaultOptions()); !errors.Is(err, ErrBadAnswer) {
		t.Fatalf("B in alnum: %v, want ErrBadAnswer", err)
	}
	o = DefaultOptions()
	o.Lang = "ja"
	if _, err := r.Audio("ACE2", Seed{}, o); !errors.As(err, &fe) || fe.Field != "lang" {
		t.Fatalf("lang ja: %v, want a lang FieldError", err)
	}
}

// renderedClip is a clip decoded to floats with its plan, its answer alone and its
// distractors alone (each through the style's room, as in the clip), so that the
// background is what is left.
type renderedClip struct {
	plan       clip
	clip       []float32 // the WAV's samples, -1 to 1
	speech     []float32 // tone and answer takes alone
	distractor []float32 // distractor takes alone
}

func renderApart(t *testing.T, r *Renderer, answer string, seed Seed, o Options) renderedClip {
	t.Helper()
	data, err := r.Audio(answer, seed, o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.voices.plan([]rune(answer), seed, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := renderedClip{plan: c, clip: make([]float32, c.n), speech: make([]float32, c.n), distractor: make([]float32, c.n)}
	for i := range rc.clip {
		rc.clip[i] = (float32(data[wavHeaderSize+i]) - 128) / 127
	}
	// Over silence nothing is ducked, so these are the voices exactly as in the clip.
	addTone(rc.speech[c.tone[0]:c.tone[1]], c.toneFreq)
	addScaled(rc.speech[c.introAt:], c.intro, introGain)
	for i := range c.takes {
		tk := &c.takes[i]
		dst := rc.speech
		if tk.distractor {
			dst = rc.distractor
		}
		addResampled(dst[tk.at:], tk)
	}
	r.voices.look.room.apply(rc.speech)
	r.voices.look.room.apply(rc.distractor)
	return rc
}

// answerTakes returns the plan's answer characters, in order.
func answerTakes(c clip) []placedTake {
	var takes []placedTake
	for _, tk := range c.takes {
		if !tk.distractor {
			takes = append(takes, tk)
		}
	}
	return takes
}

// Every answer character stands out of the background (babble, ducking, noise and
// quantisation, measured in the WAV itself) by at least its difficulty's floor, in every
// style, and the background does not fall silent between characters, so that silence does
// not show where they are.
func TestAudioCharactersStandOutOfBackground(t *testing.T) {
	for _, o := range audioCases() {
		for _, d := range []Difficulty{Easy, Normal, Hard} {
			t.Run(fmt.Sprintf("%s/%s/%s", o.Lang, o.Charset, d), func(t *testing.T) {
				o.Difficulty = d
				st := audioStyles[d]
				worst, quietGap := math.Inf(1), math.Inf(1)
				for s := range 20 {
					r := newStyledRenderer(t, s%5)
					answer, _ := NewAnswer(o.Charset, o.Length)
					rc := renderApart(t, r, answer, Seed{byte(s), 3}, o)
					takes := answerTakes(rc.plan)
					for i, tk := range takes {
						span := [2]int{tk.at, tk.at + tk.length()}
						var speech, background float64
						for j := span[0]; j < span[1]; j++ {
							sp := float64(rc.speech[j])
							bg := float64(rc.clip[j]) - sp - float64(rc.distractor[j])
							speech += sp * sp
							background += bg * bg
						}
						worst = min(worst, 10*math.Log10(speech/background))
						if i > 0 {
							prev := takes[i-1]
							gap := rc.clip[prev.at+prev.length() : tk.at]
							quietGap = min(quietGap, 10*math.Log10(energy(gap)/float64(len(gap))))
						}
					}
				}
				// 1 dB: the floor is set from the take's stored power, not its resampled
				// one, the room adds the take's own echo to it, and 8-bit quantisation adds
				// its own noise.
				if worst < st.floor-1 {
					t.Errorf("a character stands %.1f dB above the background, want at least %.0f", worst, st.floor)
				}
				if quietGap < -40 {
					t.Errorf("a gap between characters is at %.1f dBFS: silence shows where characters are", quietGap)
				}
				t.Logf("worst character %.1f dB above background (floor %.0f), quietest gap %.1f dBFS", worst, st.floor, quietGap)
			})
		}
	}
}

// What keeps a clip solvable by a person, in every style: the answer's voice is the first
// heard after the tone; the distractor speaks in a voice on the other side of
// lowHighSplit (TestAudioVoicesDifferInPitch), and within each answer character's span it
// stays at least its difficulty's distance below the answer; answer characters never overlap each other;
// and no character is played slower or faster than a person follows.
func TestAudioStaysSolvable(t *testing.T) {
	const slowest, fastest = 0.74, 1.33 // playback rates a person still follows
	for _, o := range audioCases() {
		for _, d := range []Difficulty{Easy, Normal, Hard} {
			t.Run(fmt.Sprintf("%s/%s/%s", o.Lang, o.Charset, d), func(t *testing.T) {
				o.Difficulty = d
				st := audioStyles[d]
				worstOverlap, distractors := math.Inf(1), 0
				minRate, maxRate := math.Inf(1), 0.0
				for s := range 24 {
					r := newStyledRenderer(t, s%6)
					answer, _ := NewAnswer(o.Charset, o.Length)
					rc := renderApart(t, r, answer, Seed{byte(s), 5}, o)
					if first := rc.plan.takes[0]; first.distractor {
						t.Fatalf("seed %d: a distractor speaks first", s)
					}
					takes := answerTakes(rc.plan)
					if got := string(runesOf(takes)); got != answer {
						t.Fatalf("seed %d: the answer's takes say %q, want %q", s, got, answer)
					}
					for i := 1; i < len(takes); i++ {
						if prev := takes[i-1]; takes[i].at < prev.at+prev.length() {
							t.Fatalf("seed %d: answer characters %d and %d overlap", s, i-1, i)
						}
					}
					for _, tk := range rc.plan.takes {
						for _, step := range tk.step {
							minRate, maxRate = min(minRate, step), max(maxRate, step)
						}
						if !tk.distractor {
							continue
						}
						distractors++
					}
					// The distractor's energy within each answer character's span, against the
					// character's own.
					for _, a := range takes {
						span := [2]int{a.at, a.at + a.length()}
						if d := energy(rc.distractor[span[0]:span[1]]); d > 0 {
							worstOverlap = min(worstOverlap, 10*math.Log10(energy(rc.speech[span[0]:span[1]])/d))
						}
					}
				}
				if distractors == 0 {
					t.Fatal("no clip had a distractor")
				}
				// A distractor overlaps only part of a character, so over the character's span it
				// stays below the answer by more than its level; the room's echo of a
				// distractor just before is what comes nearest.
				if !math.IsInf(worstOverlap, 1) && worstOverlap < st.distract[0] {
					t.Errorf("over an answer character's span, the answer stands %.1f dB above the distractor; want at least %.1f", worstOverlap, st.distract[0])
				}
				if minRate < slowest || maxRate > fastest {
					t.Errorf("playback rates %.2f to %.2f, want within %.2f to %.2f", minRate, maxRate, slowest, fastest)
				}
				t.Logf("%d distractors; answer over distractor within its characters: at worst %.1f dB; rates %.2f to %.2f",
					distractors, worstOverlap, minRate, maxRate)
			})
		}
	}
}

func runesOf(takes []placedTake) []rune {
	rs := make([]rune, len(takes))
	for i, tk := range takes {
		rs[i] = tk.ch
	}
	return rs
}

// The voices of a clip: the distractor's speaker is always on the other side of
// lowHighSplit from the answer's, in every style and for every language.
func TestAudioVoicesDifferInPitch(t *testing.T) {
	for st := range 20 {
		r := newStyledRenderer(t, st)
		for _, lang := range []Lang{English, Korean} {
			if !hasLowAndHigh(r.voices.look.speakers[lang]) {
				t.Fatalf("style %d, %s: speakers %v lack a low or a high voice", st, lang, r.voices.look.speakers[lang])
			}
			rng := rand.New(rand.NewPCG(uint64(st), 1))
			for range 50 {
				voice, other := r.voices.look.pickVoices(rng, lang)
				if math.Max(voice.pitch, other.pitch)/math.Min(voice.pitch, other.pitch) < 1.8 {
					t.Fatalf("style %d, %s: voices at %.0f and %.0f Hz", st, lang, voice.pitch, other.pitch)
				}
			}
		}
	}
}

// Sliding a character's stored take over the clip does not find it: its best normalised
// correlation around where it was placed stays near that of an unrelated take, because
// the rate always differs from the stored one and glides along the take, and babble lies
// on top.
func TestAudioTakesDoNotMatchStoredSamples(t *testing.T) {
	r := newTestRenderer(t)
	o := DefaultOptions()
	var found []float64
	for s := range 15 {
		answer, _ := NewAnswer(o.Charset, o.Length)
		rc := renderApart(t, r, answer, Seed{byte(s), 4}, o)
		for _, tk := range rc.plan.takes {
			found = append(found, bestCorrelation(r.voices, rc.clip, tk.pcm, tk.at, 200))
		}
	}
	slices.Sort(found)
	median, p90 := found[len(found)/2], found[len(found)*9/10]
	if median > 0.25 || p90 > 0.5 {
		t.Fatalf("stored takes correlate with the clip: median %.2f, 90th percentile %.2f", median, p90)
	}
	t.Logf("correlation of a character's stored take with the clip: median %.2f, 90th percentile %.2f, max %.2f",
		median, p90, found[len(found)-1])
}

// bestCorrelation is the largest |normalised correlation| of the take against x, the take
// starting within lags samples of at.
func bestCorrelation(b *voiceBank, x []float32, take []byte, at, lags int) float64 {
	y := make([]float64, len(take))
	var yy float64
	for i, u := range take {
		y[i] = float64(b.ulaw[u])
		yy += y[i] * y[i]
	}
	best := 0.0
	for lag := -lags; lag <= lags; lag++ {
		var xy, xx float64
		for i := range y {
			if j := at + lag + i; j >= 0 && j < len(x) {
				xy += float64(x[j]) * y[i]
				xx += float64(x[j]) * float64(x[j])
			}
		}
		if xx > 0 {
			best = max(best, math.Abs(xy)/math.Sqrt(xx*yy))
		}
	}
	return best
}

func TestUlawDecode(t *testing.T) {
	for _, c := range []struct {
		in   byte
		want int16
	}{{0xff, 0}, {0x7f, 0}, {0x80, 32124}, {0x00, -32124}, {0xef, 132}, {0x6f, -132}} {
		if got := ulawDecode(c.in); got != c.want {
			t.Errorf("ulawDecode(%#x) = %d, want %d", c.in, got, c.want)
		}
	}
}

// addResampled reads four samples from the position without clamping it: length keeps the
// last position inside the take, and the padding of src covers what truncating the fixed-point
// step and slope can add. Every take, at the slowest and fastest glides in either direction,
// stays within it (a read past src panics) and writes no sample past its length.
func TestResamplingStaysInsideTheTake(t *testing.T) {
	r := newTestRenderer(t)
	glides := [][2]float64{{0.74, 0.74}, {1.33, 1.33}, {0.74, 1.33}, {1.33, 0.74}, {0.88, 1.0}, {1.0, 0.88}}
	for _, l := range []Lang{English, Korean} {
		lang := r.voices.langs[l]
		lang.decode(&r.voices.ulaw)
		for ch, versions := range lang.takes {
			for i := range versions {
				for _, g := range glides {
					tk := placedTake{take: versions[i], step: g, gain: 1}
					dst := make([]float32, tk.length()+8)
					addResampled(dst, &tk)
					for _, v := range dst[tk.length():] {
						if v != 0 {
							t.Fatalf("%s %q take %d at %v: wrote past its length", l, ch, i, g)
						}
					}
				}
			}
		}
	}
}
