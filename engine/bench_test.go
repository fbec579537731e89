package engine

import (
	"fmt"
	"testing"
)

// BenchmarkImage draws and encodes one challenge per iteration, for every difficulty and
// charset at the default size. Compare with ../shared/peers in the same run:
//
//	go test ./engine -run '^$' -bench Image -benchmem -count 5
func BenchmarkImage(b *testing.B) {
	r := newTestRenderer(b)
	for _, cs := range []Charset{Alnum, Digits, Hangul} {
		for _, d := range []Difficulty{Easy, Normal, Hard} {
			o := optionsFor(cs, d)
			o.Length = DefaultLength
			answer, _ := NewAnswer(cs, o.Length)
			b.Run(fmt.Sprintf("%s/%s", d, cs), func(b *testing.B) {
				b.ReportAllocs()
				var seed Seed
				size := 0
				for i := 0; b.Loop(); i++ {
					seed[0], seed[1] = byte(i), byte(i>>8)
					img, err := r.Image(answer, seed, o)
					if err != nil {
						b.Fatal(err)
					}
					size += len(img)
				}
				b.ReportMetric(float64(size)/float64(b.N), "jpeg-bytes/op")
			})
		}
	}
}
