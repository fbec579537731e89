package engine

import (
	"math/rand/v2"
	"slices"
)

// voiceLook is what a style fixes about every clip of a deployment: which speakers it
// uses and at what pitch and tempo, how far apart it places characters, how much it
// distracts, how its room echoes, and the clip's opening. Each range stays inside what
// TestAudioLengthAndSize and TestAudioStaysSolvable hold every style to.
type voiceLook struct {
	speakers map[Lang][]speaker
	// gap is the range of time from one character's end to the next one's start, in
	// seconds; negative where a distractor overlaps its neighbour.
	gap [2]float64
	// distractors is how many distractor characters a clip has per answer character.
	distractors float64
	babble      float32 // scales the difficulty's babble level
	leadIn      [2]float64
	afterTone   [2]float64
	tone        [2]float64 // the lead-in tone's frequency range, Hz
	room        room
}

// speaker is one of the embedded speakers as a style uses it.
type speaker struct {
	index int     // in language.speakers
	rate  float64 // the style plays this speaker this much faster (higher) or slower
	pitch float64 // its fundamental frequency at that rate, Hz
}

// speakerPitch is each embedded speaker's median fundamental frequency in Hz, measured by
// autocorrelation over the voiced frames of its samples: male espeak-ng variants sit near
// 85 Hz, female ones near 220 Hz. The distractor is chosen by it, so that the two voices
// of a clip are always far apart in pitch, which is what lets a listener follow one.
var speakerPitch = map[string]float64{
	"gb-m1": 91, "rp-m7": 84, "us-andrea": 240, "us-belinda": 216, "us-m3": 84, "us-steph": 197,
	"andrea": 235, "m1": 79, "m3": 79, "steph": 197,
}

// Bounds of a speaker's rate in a style: within them, speech stays natural enough to
// follow (TestAudioStaysSolvable checks the rates a clip can reach).
const speakerRateMin, speakerRateMax = 0.88, 1.15

func newVoiceLook(s Style, a *voiceAssets) voiceLook {
	rng := s.rng("audio")
	l := voiceLook{
		speakers:    make(map[Lang][]speaker),
		gap:         [2]float64{between(rng, -overlapMax, 0.05), between(rng, 0.25, 0.55)},
		distractors: between(rng, 0.9, 1.4),
		babble:      float32(between(rng, 0.7, 1.3)),
		leadIn:      [2]float64{between(rng, 0.05, 0.2), between(rng, 0.3, 0.6)},
		afterTone:   [2]float64{between(rng, 0.25, 0.4), between(rng, 0.5, 0.8)},
		room: room{
			delay:    int(between(rng, 0.011, 0.037) * sampleRate),
			feedback: float32(between(rng, 0.1, 0.35)),
		},
	}
	base := between(rng, 500, 900)
	l.tone = [2]float64{base, base * 1.25}
	for _, lang := range []Lang{English, Korean} {
		names := a.langs[lang].speakers
		var chosen []speaker
		for i, name := range names {
			rate := between(rng, speakerRateMin, speakerRateMax)
			chosen = append(chosen, speaker{index: i, rate: rate, pitch: speakerPitch[name] * rate})
		}
		// Every style keeps at least one low and one high voice, so that every answer voice
		// has a distractor far from it; beyond that it drops speakers at random.
		rng.Shuffle(len(chosen), func(i, j int) { chosen[i], chosen[j] = chosen[j], chosen[i] })
		keep := 3 + rng.IntN(len(chosen)-2)
		for len(chosen) > keep {
			k := rng.IntN(len(chosen))
			rest := slices.Delete(slices.Clone(chosen), k, k+1)
			if hasLowAndHigh(rest) {
				chosen = rest
			} else {
				keep++
			}
		}
		slices.SortFunc(chosen, func(x, y speaker) int { return x.index - y.index })
		l.speakers[lang] = chosen
	}
	return l
}

// lowHighSplit is the pitch that separates the low voices from the high ones.
const lowHighSplit = 140

func hasLowAndHigh(ss []speaker) bool {
	low := slices.ContainsFunc(ss, func(s speaker) bool { return s.pitch < lowHighSplit })
	high := slices.ContainsFunc(ss, func(s speaker) bool { return s.pitch >= lowHighSplit })
	return low && high
}

// pickVoices draws the answer's speaker and the distractor's: any of the style's, and one
// on the other side of lowHighSplit.
func (l *voiceLook) pickVoices(rng *rand.Rand, lang Lang) (voice, other speaker) {
	ss := l.speakers[lang]
	voice = ss[rng.IntN(len(ss))]
	farFrom := func(s speaker) bool { return (s.pitch < lowHighSplit) != (voice.pitch < lowHighSplit) }
	// The k-th speaker far from voice, counted rather than collected: this runs per clip.
	k := rng.IntN(countFunc(ss, farFrom))
	for _, s := range ss {
		if farFrom(s) {
			if k == 0 {
				return voice, s
			}
			k--
		}
	}
	panic("unreachable: every style keeps a low and a high voice")
}

func countFunc[T any](s []T, f func(T) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}

// placeTake draws one character's take by speaker sp with its rate; gain 0 is set later.
func placeTake(rng *rand.Rand, lang *language, sp speaker, ch rune, gain float32, maxRate float64) placedTake {
	return placedTake{take: lang.takes[ch][sp.index], ch: ch, step: glide(rng, sp.rate, maxRate), gain: gain}
}

// room is a single feedback comb: each sample comes back delay samples later, scaled by
// feedback, and again and again, decaying. It colours every voice of a deployment alike,
// as a room does, for a multiply-add per sample.
type room struct {
	delay    int
	feedback float32
}

// apply passes mix through the room.
func (r room) apply(mix []float32) {
	if r.delay <= 0 || r.delay >= len(mix) {
		return
	}
	dst := mix[r.delay:]
	src := mix[:len(dst)] // the same length, said so that the loop needs no bounds checks
	for i := range dst {
		dst[i] += r.feedback * src[i]
	}
}
