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
	"captcha/engine/sqlite"
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
	styleFlag := fs.String("style", "random", "random, server (the style of the database in -data), or a random style's 64 hex digits")
	styles := fs.Int("styles", 1, "with -style random: spread the challenges over this many random styles")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := configFor(common, nil)
	if err != nil {
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
	if *styles < 1 || *styles > maxStyles || (*styles > 1 && *styleFlag != "random") {
		return &usageError{fmt.Sprintf("gen: -styles %d is not allowed (allowed: 1 to %d, more than 1 only with -style random)", *styles, maxStyles)}
	}
	renderers, err := genRenderers(ctx, cfg, *styleFlag, *styles)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	for _, r := range renderers {
		if *styleFlag == "random" {
			// A random style's key is no secret of anyone's: printed, it lets the set be
			// drawn again.
			fmt.Fprintf(stdout, "style %s (-style %s)\n", r.Style().ID(), r.Style().Secret())
		} else {
			fmt.Fprintf(stdout, "style %s\n", r.Style().ID())
		}
	}
	if err := generate(ctx, renderers, d, *n, *out, *audio); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d challenges to %s\n", *n, *out)
	return nil
}

// maxStyles bounds -styles: each style bends its own copy of the fonts.
const maxStyles = 1000

// genRenderers returns the renderers of what -style and -styles ask for: a server's style
// comes from its database, opened as the server opens it, which must exist already (gen
// never creates one).
func genRenderers(ctx context.Context, cfg Config, style string, n int) ([]*engine.Renderer, error) {
	var chosen []engine.Style
	switch style {
	case "random":
		for range n {
			chosen = append(chosen, engine.RandomStyle())
		}
	case "server":
		// The same database the server opens, SQLite or PostgreSQL; a SQLite file that does
		// not exist yet would be created empty, with a secret no server draws with.
		if path := filepath.Join(cfg.DataDir, sqlite.FileName); cfg.DatabaseURL == "" {
			if _, err := os.Stat(path); err != nil {
				return nil, &usageError{fmt.Sprintf("gen: -style server: no database at %s (give the server's -data, -database or -config)", path)}
			}
		}
		db, err := openDatabase(ctx, cfg)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		r, err := styledRenderer(ctx, db)
		if err != nil {
			return nil, err
		}
		return []*engine.Renderer{r}, nil
	default:
		s, err := engine.ParseStyle(style)
		if err != nil {
			return nil, &usageError{fmt.Sprintf("gen: -style %q: random, server, or %v", style, err)}
		}
		chosen = append(chosen, s)
	}
	renderers := make([]*engine.Renderer, len(chosen))
	for i, s := range chosen {
		r, err := engine.NewRenderer(s)
		if err != nil {
			return nil, err
		}
		renderers[i] = r
	}
	return renderers, nil
}

// generate writes n challenges using every core, challenge i in style i mod len(renderers);
// the first error stops the rest.
func generate(ctx context.Context, renderers []*engine.Renderer, o engine.Options, n int, dir string, audio bool) error {
	jobs := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := writeChallenge(renderers[i%len(renderers)], o, i, dir, audio); err != nil {
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
