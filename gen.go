package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"captcha/engine"
)

// maxGen bounds one gen run: enough for training sets, small enough that a typo does not
// fill a disk.
const maxGen = 1_000_000

func runGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("gen", stderr, &common)
	d := engine.DefaultOptions()
	n := fs.Int("n", 10, "how many challenges to write")
	out := fs.String("out", "", "directory to write NNNN_ANSWER.jpg files into (required)")
	charset := fs.String("charset", string(d.Charset), "alnum, digits or hangul")
	difficulty := fs.String("difficulty", string(d.Difficulty), "easy, normal or hard")
	fs.IntVar(&d.Width, "width", d.Width, fmt.Sprintf("image width, %d to %d", engine.MinWidth, engine.MaxWidth))
	fs.IntVar(&d.Height, "height", d.Height, fmt.Sprintf("image height, %d to %d", engine.MinHeight, engine.MaxHeight))
	fs.IntVar(&d.Length, "length", d.Length, fmt.Sprintf("answer length, %d to %d", engine.MinLength, engine.MaxLength))
	audio := fs.Bool("audio", false, "also write NNNN_ANSWER.wav speaking the same answer")
	lang := fs.String("lang", "", "audio language, en or ko (default en; ko for hangul)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := configFor(common, nil); err != nil {
		return err
	}
	d.Charset, d.Difficulty, d.Lang = engine.Charset(*charset), engine.Difficulty(*difficulty), engine.Lang(*lang)
	if d.Lang == "" {
		d.Lang = engine.DefaultLang(d.Charset)
	}
	if err := d.Validate(); err != nil {
		return &usageError{"gen: " + err.Error()}
	}
	if *out == "" {
		return &usageError{"gen: -out DIR is required"}
	}
	if *n < 1 || *n > maxGen {
		return &usageError{fmt.Sprintf("gen: -n %d is not allowed (allowed: 1 to %d)", *n, maxGen)}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	r, err := engine.NewRenderer()
	if err != nil {
		return err
	}
	if err := generate(ctx, r, d, *n, *out, *audio); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d challenges to %s\n", *n, *out)
	return nil
}

// generate writes n challenges using every core; the first error stops the rest.
func generate(ctx context.Context, r *engine.Renderer, o engine.Options, n int, dir string, audio bool) error {
	jobs := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := writeChallenge(r, o, i, dir, audio); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case jobs <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

func writeChallenge(r *engine.Renderer, o engine.Options, i int, dir string, audio bool) error {
	answer, err := engine.NewAnswer(o.Charset, o.Length)
	if err != nil {
		return err
	}
	var seed engine.Seed
	rand.Read(seed[:])
	img, err := r.Image(answer, seed, o)
	if err != nil {
		return err
	}
	base := filepath.Join(dir, fmt.Sprintf("%04d_%s", i, answer))
	if err := os.WriteFile(base+".jpg", img, 0o644); err != nil {
		return err
	}
	if !audio {
		return nil
	}
	wav, err := r.Audio(answer, seed, o)
	if err != nil {
		return err
	}
	return os.WriteFile(base+".wav", wav, 0o644)
}
