package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParse(t *testing.T) {
	tab, err := parseFile("testdata/fixture.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := tab.series("Churn", "impl", "sortedset")
	want := []point{{1_000, 200}, {1_000_000, 1000}} // medians, by size
	if len(got) != len(want) {
		t.Fatalf("series = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("point %d = %v, want %v", i, got[i], want[i])
		}
	}
	if tab.cpu != "AMD EPYC" {
		t.Errorf("cpu = %q", tab.cpu)
	}
	if s := tab.samples[key{"Add1000", 5_000, "at=head/impl=slice"}]; len(s) != 1 || s[0] != 12345 {
		t.Errorf("Add1000 samples = %v", s)
	}
	if _, ok := tab.samples[key{bench: "NoSize"}]; ok || len(tab.samples) != 5 {
		t.Errorf("table has %d keys, want 5 (no entry without a size): %v", len(tab.samples), tab.samples)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"1000": 1000, "5k": 5000, "1M": 1_000_000, "10M": 10_000_000} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "-1k", "x"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
}

func TestDraw(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.svg")
	lines := []line{{label: "sortedset", pts: []point{{1000, 10}, {1_000_000, 100}}, style: implStyle["sortedset"]}}
	if err := draw1(file, "t", "cpu", lines); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() == 0 {
		t.Fatalf("no chart written: %v", err)
	}
}

func TestTimeLabel(t *testing.T) {
	for ns, want := range map[float64]string{10: "10ns", 1000: "1µs", 100_000: "100µs", 1e6: "1ms", 1e10: "10s"} {
		if got := timeLabel(ns); got != want {
			t.Errorf("timeLabel(%v) = %q, want %q", ns, got, want)
		}
	}
}
