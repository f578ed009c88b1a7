package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Prometheus text format by hand: five gauges/counters and one histogram do
// not justify a client library and its dependencies.

var buckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

type histogram struct {
	counts [13]atomic.Int64 // len(buckets)+1: the last is +Inf
	sumNs  atomic.Int64
}

func newHistogram() *histogram { return &histogram{} }

func (h *histogram) observe(d time.Duration) {
	sec := d.Seconds()
	i, _ := slices.BinarySearch(buckets, sec)
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	owners := s.owners()
	members := 0
	for _, o := range owners {
		members += o.Members()
	}
	var b strings.Builder
	gauge := func(name, help string, v int64, typ string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, typ, name, v)
	}
	gauge("guildd_guilds", "Guilds loaded.", int64(len(owners)), "gauge")
	gauge("guildd_members", "Members of all guilds.", int64(members), "gauge")
	gauge("guildd_sessions", "Open gateway sessions.", s.sessions.Load(), "gauge")
	gauge("guildd_ops_sent_total", "List ops queued to sessions (ops per frame times sessions).", s.metrics.OpsSent.Load(), "counter")
	gauge("guildd_queue_drops_total", "Session queues dropped because full (each followed by INVALIDATE + SYNC).", s.metrics.QueueDrops.Load(), "counter")
	b.WriteString("# HELP guildd_http_request_duration_seconds HTTP request latency by route.\n# TYPE guildd_http_request_duration_seconds histogram\n")
	routes := make([]string, 0, len(s.hist))
	for r := range s.hist {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	for _, route := range routes {
		h := s.hist[route]
		var cum int64
		for i, le := range buckets {
			cum += h.counts[i].Load()
			fmt.Fprintf(&b, "guildd_http_request_duration_seconds_bucket{route=%q,le=\"%g\"} %d\n", route, le, cum)
		}
		cum += h.counts[len(buckets)].Load()
		fmt.Fprintf(&b, "guildd_http_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", route, cum)
		fmt.Fprintf(&b, "guildd_http_request_duration_seconds_sum{route=%q} %g\n", route, float64(h.sumNs.Load())/1e9)
		fmt.Fprintf(&b, "guildd_http_request_duration_seconds_count{route=%q} %d\n", route, cum)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write([]byte(b.String()))
}

func sortSummaries(gs []guildSummary) {
	slices.SortFunc(gs, func(a, b guildSummary) int {
		if len(a.ID) != len(b.ID) {
			return len(a.ID) - len(b.ID) // decimal ids: shorter is smaller
		}
		return strings.Compare(a.ID, b.ID)
	})
}
