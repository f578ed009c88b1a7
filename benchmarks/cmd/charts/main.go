// Command charts draws the benchmark charts in ../docs from the go test
// -bench output saved under benchmarks/results:
//
//	go run -C benchmarks ./cmd/charts            # redraw from the saved results
//	go run -C benchmarks ./cmd/charts -run       # run the benchmarks first (slow)
//
// From results/peers.txt (this module's benchmarks) it draws ns/op against
// set size, log-log, one line per implementation, for Churn, IndexOf, At and
// Slice: docs/churn.svg, docs/indexof.svg, docs/at.svg, docs/slice.svg. From
// results/root-asm.txt and results/root-purego.txt (the root package's
// benchmarks, built with and without -tags purego) it draws
// docs/asm-vs-purego.svg. Each point is the median of the runs in the file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

func main() {
	results := flag.String("results", "results", "directory holding the saved benchmark output")
	out := flag.String("out", "../docs", "directory the SVGs are written to")
	run := flag.Bool("run", false, "run the benchmarks (this module's and the root package's, asm and purego) and save their output before drawing")
	count := flag.Int("count", 3, "with -run: the -count passed to go test")
	benchtime := flag.String("benchtime", "1s", "with -run: the -benchtime passed to go test")
	flag.Parse()
	log.SetFlags(0)

	if *run {
		if err := runBenchmarks(*results, *count, *benchtime); err != nil {
			log.Fatal(err)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	peers, err := parseFile(filepath.Join(*results, "peers.txt"))
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range []struct{ bench, file, title string }{
		{"Churn", "churn.svg", "Churn: remove a present item, add a fresh one"},
		{"IndexOf", "indexof.svg", "IndexOf a random present item (btrees: Get, no rank)"},
		{"At", "at.svg", "At(random index) (google/btree has no positional access)"},
		{"Slice", "slice.svg", "Slice(random start, 100)"},
	} {
		var lines []line
		for _, impl := range []string{"sortedset", "slice", "tidwallset", "tidwall", "google"} {
			if pts := peers.series(c.bench, "impl", impl); len(pts) > 0 {
				lines = append(lines, line{label: impl, pts: pts, style: implStyle[impl]})
			}
		}
		if err := draw1(filepath.Join(*out, c.file), c.title, peers.cpu, lines); err != nil {
			log.Fatal(err)
		}
	}

	asm, errA := parseFile(filepath.Join(*results, "root-asm.txt"))
	purego, errP := parseFile(filepath.Join(*results, "root-purego.txt"))
	if err := errors.Join(errA, errP); err != nil {
		log.Fatal(err)
	}
	var lines []line
	for i, bench := range []string{"Churn", "IndexOf", "At"} {
		for _, b := range []struct {
			name string
			data table
			dash bool
		}{{"asm", asm, false}, {"purego", purego, true}} {
			st := style{color: palette[i], shape: i}
			if b.dash {
				st.dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			if pts := b.data.series(bench, "impl", "set"); len(pts) > 0 {
				lines = append(lines, line{label: bench + " " + b.name, pts: pts, style: st})
			}
		}
	}
	if err := draw1(filepath.Join(*out, "asm-vs-purego.svg"), "sortedset: amd64 asm kernels vs -tags purego", asm.cpu, lines); err != nil {
		log.Fatal(err)
	}
}

// runBenchmarks remakes the result files the charts are drawn from. It
// expects to run in the benchmarks module's directory.
func runBenchmarks(results string, count int, benchtime string) error {
	if err := os.MkdirAll(results, 0o755); err != nil {
		return err
	}
	c := strconv.Itoa(count)
	for _, r := range []struct {
		file, dir string
		args      []string
	}{
		{"peers.txt", ".", []string{"-bench", "Churn|IndexOf|At$|Slice$"}},
		{"root-asm.txt", "..", []string{"-bench", "Churn|IndexOf|At$"}},
		{"root-purego.txt", "..", []string{"-tags", "purego", "-bench", "Churn|IndexOf|At$"}},
	} {
		f, err := os.Create(filepath.Join(results, r.file))
		if err != nil {
			return err
		}
		args := append([]string{"test", "-run", "^$", "-count", c, "-benchtime", benchtime}, r.args...)
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = r.dir, f, os.Stderr
		log.Printf("(cd %s && go %s) > %s", r.dir, strings.Join(cmd.Args[1:], " "), f.Name())
		err = cmd.Run()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", r.file, err)
		}
	}
	return nil
}

// A table holds ns/op samples by benchmark, size and configuration.
type table struct {
	samples map[key][]float64
	cpu     string // the cpu: line of the output
}

type key struct {
	bench string // "Churn", without the Benchmark prefix
	n     int    // set size, from the n=<size> part
	conf  string // the remaining key=value parts, "/"-joined, e.g. "impl=tidwall"
}

// point is the median of a benchmark's samples at one size.
type point struct {
	n  int
	ns float64
}

func parseFile(name string) (table, error) {
	f, err := os.Open(name)
	if err != nil {
		return table{}, err
	}
	defer f.Close()
	return parse(f, name)
}

// parse reads go test -bench output and keeps the ns/op of every benchmark
// whose name has an n=<size> part.
func parse(r io.Reader, name string) (table, error) {
	t := table{samples: map[key][]float64{}}
	br := benchfmt.NewReader(r, name)
	for br.Scan() {
		res, ok := br.Result().(*benchfmt.Result)
		if !ok {
			continue // syntax errors and unit metadata; go test's own lines (PASS, ok) are skipped by the reader
		}
		ns, ok := nsPerOp(res)
		if !ok {
			continue
		}
		base, parts := res.Name.Parts()
		k := key{bench: strings.TrimPrefix(string(base), "Benchmark")}
		var conf []string
		for _, p := range parts {
			kv, ok := strings.CutPrefix(string(p), "/")
			if !ok {
				continue // -GOMAXPROCS
			}
			if v, ok := strings.CutPrefix(kv, "n="); ok {
				n, err := parseSize(v)
				if err != nil {
					return table{}, fmt.Errorf("%s: %s: %w", name, res.Name, err)
				}
				k.n = n
				continue
			}
			conf = append(conf, kv)
		}
		if k.n == 0 {
			continue
		}
		k.conf = strings.Join(conf, "/")
		t.samples[k] = append(t.samples[k], ns)
		if cpu := res.GetConfig("cpu"); cpu != "" {
			t.cpu = strings.TrimSpace(cpu)
		}
	}
	return t, br.Err()
}

// nsPerOp returns the result's ns/op as written (the reader tidies it to
// sec/op, which would add rounding noise).
func nsPerOp(res *benchfmt.Result) (float64, bool) {
	for _, v := range res.Values {
		if v.OrigUnit == "ns/op" {
			return v.OrigValue, true
		}
		if v.OrigUnit == "" && v.Unit == "ns/op" {
			return v.Value, true
		}
	}
	if sec, ok := res.Value("sec/op"); ok {
		return sec * 1e9, true
	}
	return 0, false
}

// parseSize reads 1000, 1k, 10M.
func parseSize(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1_000, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1_000_000, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// series returns the median ns/op of bench with conf k=v, by increasing size.
// Root-package results name the library impl=set.
func (t table) series(bench, k, v string) []point {
	var pts []point
	for key, samples := range t.samples {
		if key.bench == bench && key.conf == k+"="+v {
			pts = append(pts, point{key.n, median(samples)})
		}
	}
	slices.SortFunc(pts, func(a, b point) int { return a.n - b.n })
	return pts
}

func median(x []float64) float64 {
	s := slices.Sorted(slices.Values(x))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type style struct {
	color  color.Color
	shape  int
	dashes []vg.Length
}

var palette = []color.Color{
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
}

var implStyle = map[string]style{
	"sortedset":  {color: palette[0], shape: 0},
	"slice":      {color: palette[1], shape: 1},
	"tidwall":    {color: palette[2], shape: 2},
	"google":     {color: palette[3], shape: 3},
	"tidwallset": {color: palette[4], shape: 4},
}

var shapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}}

type line struct {
	label string
	pts   []point
	style style
}

// draw1 writes one log-log chart of ns/op against set size.
func draw1(file, title, cpu string, lines []line) error {
	if len(lines) == 0 {
		return fmt.Errorf("%s: no data", file)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "items in the set"
	if cpu != "" {
		p.X.Label.Text += "   (" + cpu + ")"
	}
	p.Y.Label.Text = "time per op (median)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker = sizeTicks{}
	p.Y.Tick.Marker = timeTicks{}
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.ThumbnailWidth = vg.Points(24)
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(12), -vg.Points(4)
	for _, l := range lines {
		xys := make(plotter.XYs, len(l.pts))
		for i, pt := range l.pts {
			xys[i] = plotter.XY{X: float64(pt.n), Y: pt.ns}
		}
		ln, sc, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", file, l.label, err)
		}
		ln.Color, ln.Width, ln.Dashes = l.style.color, vg.Points(1.5), l.style.dashes
		sc.Color, sc.Shape, sc.Radius = l.style.color, shapes[l.style.shape%len(shapes)], vg.Points(3)
		p.Add(ln, sc)
		p.Legend.Add(l.label, ln, sc)
	}
	// Headroom above the highest point for the legend (top left).
	p.Y.Max *= 8
	return p.Save(7*vg.Inch, 4.5*vg.Inch, file)
}

// sizeTicks labels the powers of ten of the size axis as 1k, 10k, 100k, 1M.
type sizeTicks struct{}

func (sizeTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for v := 1.0; v <= max*1.0001; v *= 10 {
		if v >= min*0.9999 {
			ticks = append(ticks, plot.Tick{Value: v, Label: sizeLabel(int(v))})
		}
	}
	return ticks
}

func sizeLabel(n int) string {
	switch {
	case n >= 1_000_000:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1_000:
		return strconv.Itoa(n/1_000) + "k"
	}
	return strconv.Itoa(n)
}

// timeTicks labels the powers of ten of the ns/op axis as 10ns, 1µs, 1ms,
// with minor ticks at 2..9 times each; 2 and 5 are labelled too when the
// axis spans less than three decades.
type timeTicks struct{}

func (timeTicks) Ticks(min, max float64) []plot.Tick {
	narrow := max/min < 1000
	var ticks []plot.Tick
	for dec := math.Pow(10, math.Floor(math.Log10(min))); dec <= max; dec *= 10 {
		for m := 1.0; m < 10; m++ {
			v := dec * m
			if v < min*0.9999 || v > max*1.0001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || narrow && (m == 2 || m == 5) {
				t.Label = timeLabel(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

func timeLabel(ns float64) string {
	switch {
	case ns >= 1e9:
		return strconv.FormatFloat(ns/1e9, 'g', -1, 64) + "s"
	case ns >= 1e6:
		return strconv.FormatFloat(ns/1e6, 'g', -1, 64) + "ms"
	case ns >= 1e3:
		return strconv.FormatFloat(ns/1e3, 'g', -1, 64) + "µs"
	}
	return strconv.FormatFloat(ns, 'g', -1, 64) + "ns"
}
