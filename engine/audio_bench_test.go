package engine

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// BenchmarkAudio speaks one 6-character answer per iteration, for every language and the
// charsets it speaks, at normal difficulty. Compare with ../shared/peers in the same run:
//
//	go test ./engine -run '^$' -bench Audio -benchmem -count 5
func BenchmarkAudio(b *testing.B) {
	r := newTestRenderer(b)
	for _, l := range []Lang{English, Korean} {
		for _, cs := range spokenCharsets[l] {
			o := DefaultOptions()
			o.Charset, o.Lang = cs, l
			answer, _ := NewAnswer(cs, DefaultLength)
			b.Run(fmt.Sprintf("%s/%s", l, cs), func(b *testing.B) {
				b.ReportAllocs()
				var seed Seed
				// The first clip of a language decodes its voices and the style's openings,
				// once per process: a server pays that at its first sound, not per clip.
				if _, err := r.Audio(answer, seed, o); err != nil {
					b.Fatal(err)
				}
				size, samples := 0, 0
				for i := 0; b.Loop(); i++ {
					seed[0], seed[1] = byte(i), byte(i>>8)
					clip, err := r.Audio(answer, seed, o)
					if err != nil {
						b.Fatal(err)
					}
					size += len(clip)
					samples += len(clip) - wavHeaderSize
				}
				b.ReportMetric(float64(size)/float64(b.N), "wav-bytes/op")
				b.ReportMetric(float64(samples)/sampleRate/float64(b.N), "clip-s/op")
			})
		}
	}
}

// BenchmarkWAVEncoding measures the two ways to write a 6.5-second clip: go-audio/wav's
// Encoder (into an in-memory io.WriteSeeker, as it requires) and the engine's own header
// in front of the quantised samples. It backs the choice made in writeWAVHeader.
func BenchmarkWAVEncoding(b *testing.B) {
	mix := make([]float32, 13*sampleRate/2)
	for i := range mix {
		mix[i] = float32(i%200)/100 - 1
	}
	b.Run("go-audio", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf := &audio.IntBuffer{Data: make([]int, len(mix)),
				Format: &audio.Format{NumChannels: 1, SampleRate: sampleRate}, SourceBitDepth: 8}
			for i, v := range mix {
				buf.Data[i] = int(min(max(v*127+128.5, 0), 255))
			}
			var ws memFile
			e := wav.NewEncoder(&ws, sampleRate, 8, 1, 1)
			if err := e.Write(buf); err != nil {
				b.Fatal(err)
			}
			if err := e.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("own-header", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := make([]byte, wavHeaderSize+len(mix))
			writeWAVHeader(out, len(mix))
			quantize(out[wavHeaderSize:], mix, 1, 0.04)
		}
	})
}

// memFile is the smallest io.WriteSeeker over memory, for go-audio/wav's Encoder.
type memFile struct {
	data []byte
	pos  int
}

func (f *memFile) Write(p []byte) (int, error) {
	if end := f.pos + len(p); end > len(f.data) {
		f.data = append(f.data, make([]byte, end-len(f.data))...)
	}
	f.pos += copy(f.data[f.pos:], p)
	return len(p), nil
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += int64(f.pos)
	case io.SeekEnd:
		offset += int64(len(f.data))
	}
	if offset < 0 {
		return 0, errors.New("memFile: negative position")
	}
	f.pos = int(offset)
	return offset, nil
}
