//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func newGet(ctx context.Context, url string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, "GET", url, nil)
}

func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func passFail(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func (rep *Report) print(w io.Writer, cfg Config) {
	fmt.Fprintf(w, "\n== guildload report ==\n")
	fmt.Fprintf(w, "command: %s\n", rep.Command)
	fmt.Fprintf(w, "members %d (+%d hot), sessions %d, churn %.0f changes/s for %v (%.0f%% to hot members)\n\n",
		rep.Members, cfg.HotMembers, rep.Sessions, cfg.Rate, cfg.Duration, cfg.HotFrac*100)
	total := int64(rep.Members + cfg.HotMembers)
	wps := perSec(rep.Writes, rep.WriteTime)
	pps := perSec(rep.PresenceApplied, rep.PresenceTime)
	fmt.Fprintf(w, "%-44s %-22s %-14s %s\n", "measure", "measured", "target", "")
	row := func(name, val, target string, ok *bool) {
		verdict := ""
		if ok != nil {
			verdict = passFail(*ok)
		}
		fmt.Fprintf(w, "%-44s %-22s %-14s %s\n", name, val, target, verdict)
	}
	b := func(v bool) *bool { return &v }
	if rep.WriteTime > 0 {
		row("acknowledged membership writes/s", fmt.Sprintf("%.0f", wps), ">= 5,000", b(wps >= 5000))
	}
	if rep.PresenceTime > 0 {
		row("presence changes applied/s", fmt.Sprintf("%.0f", pps), ">= 50,000", b(pps >= 50000))
	}
	if rep.LoadTime > 0 {
		row(fmt.Sprintf("load %d members from disk", total), rep.LoadTime.Round(time.Millisecond).String(), "<= 3s (1M)",
			b(rep.LoadTime <= 3*time.Second))
	}
	if rep.MemAfterLoad.RSS > 0 {
		bpm := float64(rep.MemAfterLoad.RSS) / float64(total)
		row("server RSS per member after load", fmt.Sprintf("%.0f B", bpm), "<= 300 B", b(bpm <= 300))
		row("  of which anonymous (heap etc.)", fmt.Sprintf("%.0f B", float64(rep.MemAfterLoad.Anon)/float64(total)), "", nil)
		row("  of which file-backed (bbolt mmap, binary)", fmt.Sprintf("%.0f B", float64(rep.MemAfterLoad.File)/float64(total)), "", nil)
	}
	if rep.MemEnd.RSS > 0 {
		row("server RSS per member at the end (sessions)", fmt.Sprintf("%.0f B", float64(rep.MemEnd.RSS)/float64(total)), "", nil)
	}
	if rep.ChurnTime > 0 {
		p99 := rep.Lat.quantile(0.99)
		row("list changes applied/s during churn", fmt.Sprintf("%.0f", perSec(rep.ChangesApplied, rep.ChurnTime)),
			fmt.Sprintf("%.0f", cfg.Rate), b(perSec(rep.ChangesApplied, rep.ChurnTime) >= 0.95*cfg.Rate))
		row("delivery latency p50", rep.Lat.quantile(0.5).String(), "", nil)
		row("delivery latency p99", p99.String(), "<= 100ms", b(rep.Lat.count() > 0 && p99 <= 100*time.Millisecond))
		row("delivery latency p99.9 / max", fmt.Sprintf("%v / %v", rep.Lat.quantile(0.999), rep.Lat.maximum()), "", nil)
	}
	fmt.Fprintln(w)
	if len(rep.Sweep) > 1 {
		fmt.Fprintf(w, "%-10s %-10s %-10s %-10s %-10s %-10s %-9s %-12s %-10s %s\n", "rate", "applied/s", "not sent", "p50", "p99", "max", "samples", "frames/s", "req p99", "check")
		for _, p := range rep.Sweep {
			fmt.Fprintf(w, "%-10.0f %-10.0f %-10d %-10v %-10v %-10v %-9d %-12.0f %-10v %d/%d ok\n", p.Rate, perSec(p.Applied, p.Time), p.Behind,
				p.P50.Round(100*time.Microsecond), p.P99.Round(100*time.Microsecond), p.Max.Round(time.Millisecond), p.Samples, p.FramesPerSec,
				p.ReqP99.Round(time.Millisecond), p.Checked-p.Mismatches, p.Checked)
		}
		fmt.Fprintln(w)
	}
	if rep.ChurnTime > 0 {
		kinds := make([]string, 0, len(rep.ChangeKinds))
		for k := range rep.ChangeKinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		fmt.Fprintf(w, "churn: %d changes sent, %d applied in %v; HTTP errors %d; not sent (request pool busy) %d; request round trip p50 %v p99 %v\n",
			rep.ChangesSent, rep.ChangesApplied, rep.ChurnTime.Round(time.Millisecond), rep.HTTPErrors, rep.Behind, rep.ReqP50, rep.ReqP99)
		for _, k := range kinds {
			fmt.Fprintf(w, "  %-12s %d\n", k, rep.ChangeKinds[k])
		}
		exp := rep.Tracked * rep.TopSessions
		fmt.Fprintf(w, "latency samples: %d = deliveries of %d tracked hot-member changes (expected about %d: %d top sessions each; %.1f%%)\n",
			rep.Lat.count(), rep.Tracked, exp, rep.TopSessions, 100*float64(rep.Deliveries)/float64(max(exp, 1)))
		fmt.Fprintf(w, "frames received: %d (%.0f/s over churn+quiesce, %.1f MB); bodies decoded %d, shared %d\n",
			rep.Frames, perSec(rep.Frames, rep.ChurnTime+rep.Quiet), float64(rep.FrameBytes)/1e6, rep.DecodeMisses, rep.DecodeHits)
		fmt.Fprintf(w, "server: ops sent %d, session queue drops (resyncs) %d; quiet after %v\n", rep.OpsSent, rep.QueueDrops, rep.Quiet.Round(time.Millisecond))
	}
	if rep.LoadLog != "" {
		fmt.Fprintf(w, "server log after restart: %s\n", rep.LoadLog)
	}
	if rep.PresenceCheck != "" {
		fmt.Fprintf(w, "PRESENCE CHECK FAILED: %s\n", rep.PresenceCheck)
	}
	fmt.Fprintf(w, "machine at the end: loadavg %s, cpu pressure %s (shared machine: other processes count)\n", loadAvg(), cpuPressure())
	fmt.Fprintf(w, "consistency: %d sessions checked against GET /list, %d mismatches, %d session failures\n",
		rep.Checked, rep.Mismatches, rep.SessionFailures)
	for _, s := range rep.MismatchSamples {
		fmt.Fprintf(w, "  mismatch: %s\n", s)
	}
	for _, s := range rep.FailureSamples {
		fmt.Fprintf(w, "  failure: %s\n", s)
	}
}
