package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/bucketed/sortedset/cmd/internal/guild"
)

// scrape fetches /metrics and parses it with Prometheus's own parser, which
// also checks that the hand-written exposition is well-formed.
func (e *testEnv) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := httpClient.Get(e.url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f := fams[name]
	require.NotNil(t, f, "no metric %s", name)
	m := f.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestMetrics: /metrics counts guilds, members, sessions and ops sent, has a
// latency histogram per route, and answers at once while a guild is busy
// (it used to wait up to 2 s per busy guild and then leave its members out).
func TestMetrics(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	e.mustCall("PUT", "/guilds/2", map[string]any{"name": "h"}, nil)
	for _, u := range []string{"1", "2", "3"} {
		e.mustCall("PUT", "/guilds/1/members/"+u, map[string]any{"name": "m" + u, "status": "online"}, nil)
	}
	e.mustCall("PUT", "/guilds/2/members/9", map[string]any{"name": "x"}, nil)
	c := e.dial()
	c.subscribe(t, "1", [2]int{0, 9})
	eventually(t, 5*time.Second, func() string { return e.mismatch("1", c) })

	fams := e.scrape(t)
	require.Equal(t, 2.0, value(t, fams, "guildd_guilds"))
	require.Equal(t, 4.0, value(t, fams, "guildd_members"))
	require.Equal(t, 1.0, value(t, fams, "guildd_sessions"))
	require.Equal(t, 0.0, value(t, fams, "guildd_queue_drops_total"))
	require.GreaterOrEqual(t, value(t, fams, "guildd_ops_sent_total"), 1.0, "the subscribe's SYNC")
	var puts uint64
	for _, m := range fams["guildd_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && l.GetValue() == "/guilds/{guild}/members/{user}" {
				puts = m.GetHistogram().GetSampleCount()
			}
		}
	}
	require.Equal(t, uint64(4), puts)

	o := e.srv.owner(1)
	release := make(chan struct{})
	defer close(release)
	go o.Do(context.Background(), func(*guild.List) { <-release })
	time.Sleep(50 * time.Millisecond) // the owner is stuck in that command
	t0 := time.Now()
	fams = e.scrape(t)
	require.Less(t, time.Since(t0), time.Second)
	require.Equal(t, 4.0, value(t, fams, "guildd_members"))
}
