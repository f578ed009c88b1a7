//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A socket's bytes arrive in reads cut anywhere, also inside a frame's
// stamp; feed must still return every frame's stamp, once, in order.
func TestFloorFeedReassemblesCutFrames(t *testing.T) {
	for _, size := range []int{8, 9, 64} {
		var stream []byte
		var want []int64
		for i := range 50 {
			f := make([]byte, size)
			stamp := int64(1_000_000_007 * (i + 1))
			binary.LittleEndian.PutUint64(f, uint64(stamp))
			stream = append(stream, f...)
			want = append(want, stamp)
		}
		r := rand.New(rand.NewPCG(1, uint64(size)))
		for range 100 {
			var s floorSocket
			var got []int64
			for data := stream; len(data) > 0; {
				n := 1 + r.IntN(min(len(data), 2*size))
				got = s.feed(data[:n], size, got)
				data = data[n:]
			}
			require.Equal(t, want, got, "frame size %d", size)
			require.Zero(t, s.have, "a whole stream leaves no partial frame")
		}
	}
}

func TestRunFloor(t *testing.T) {
	cfg := FloorConfig{Sockets: 16, Frame: 64, Writers: 2, Duration: 200 * time.Millisecond,
		Periods: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}}
	res, err := RunFloor(context.Background(), cfg)
	require.NoError(t, err)
	require.Len(t, res, 2)
	for _, r := range res {
		assert.GreaterOrEqual(t, r.Rounds, 3, "period %v", r.Period)
		assert.Equal(t, int64(r.Rounds*cfg.Sockets), r.Frames)
		assert.Zero(t, r.MissingFrames, "every frame written is read")
		assert.Equal(t, r.Frames, r.Receive.count())
		assert.GreaterOrEqual(t, r.Delivery.count(), r.Frames*deliveryGrid, "a gap is never shorter than the period")
		// A change waits at least the first grid point of a gap, and a gap
		// is never shorter than the period.
		assert.GreaterOrEqual(t, r.Delivery.quantile(1e-9), r.Period/(2*deliveryGrid))
		assert.Greater(t, r.Delivery.quantile(0.5), r.Receive.quantile(0.5))
		assert.Positive(t, r.CPU)
	}
	var out bytes.Buffer
	PrintFloor(&out, cfg, res)
	assert.Contains(t, out.String(), "\n20ms ")
	assert.Contains(t, out.String(), "\n40ms ")
	assert.Contains(t, out.String(), "lowest delivery p99: ")
}

func TestRunFloorRejectsBadConfig(t *testing.T) {
	for _, cfg := range []FloorConfig{
		{Sockets: 0, Frame: 64, Writers: 1, Duration: time.Second, Periods: []time.Duration{time.Millisecond}},
		{Sockets: 1, Frame: 7, Writers: 1, Duration: time.Second, Periods: []time.Duration{time.Millisecond}},
		{Sockets: 1, Frame: 64, Writers: 0, Duration: time.Second, Periods: []time.Duration{time.Millisecond}},
		{Sockets: 1, Frame: 64, Writers: 1, Duration: time.Second},
		{Sockets: 1, Frame: 64, Writers: 1, Duration: time.Second, Periods: []time.Duration{time.Millisecond, 0}},
	} {
		_, err := RunFloor(context.Background(), cfg)
		if assert.Error(t, err) {
			assert.True(t, strings.HasPrefix(err.Error(), "floor: need"), err.Error())
		}
	}
}

// The first fanout of a phase starts on its tick, so at most Rounds-1
// fanouts can start after theirs, however long each one takes.
func TestFloorLateCountsFanoutsThatStartedLate(t *testing.T) {
	cfg := FloorConfig{Sockets: 2, Frame: 64, Writers: 1, Duration: 30 * time.Millisecond,
		Periods: []time.Duration{time.Nanosecond}} // every fanout overruns its period
	res, err := RunFloor(context.Background(), cfg)
	require.NoError(t, err)
	require.Len(t, res, 1)
	r := res[0]
	require.Greater(t, r.Rounds, 2)
	assert.Equal(t, r.Rounds-1, r.Late, "every fanout but the first started after its tick")
}

// A phase that ends with frames unread (its drain timed out) leaves them in
// the sockets; the next phase must not count them as its own frames.
func TestFloorPhaseIgnoresAnEarlierPhasesFrames(t *testing.T) {
	socks, err := floorPairs(3)
	require.NoError(t, err)
	defer closeFloor(socks)
	cfg := FloorConfig{Sockets: len(socks), Frame: 64, Writers: 1, Duration: 100 * time.Millisecond}
	stale := make([]byte, cfg.Frame)
	binary.LittleEndian.PutUint64(stale, uint64(time.Now().Add(-time.Minute).UnixNano()))
	for _, s := range socks {
		_, err := unix.Write(s.wfd, stale)
		require.NoError(t, err)
	}
	r, err := floorPhase(context.Background(), socks, cfg, 20*time.Millisecond)
	require.NoError(t, err)
	assert.Zero(t, r.MissingFrames)
	assert.Equal(t, r.Frames, r.Receive.count(), "only this phase's frames are received")
	assert.Less(t, r.Receive.quantile(1), 10*time.Second, "no frame of this phase waited a minute")
}

// An interrupted run must say so rather than report its cut-short phase as
// a complete one and exit 0.
func TestRunFloorInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	cfg := FloorConfig{Sockets: 2, Frame: 64, Writers: 1, Duration: 10 * time.Second,
		Periods: []time.Duration{20 * time.Millisecond}}
	start := time.Now()
	_, err := RunFloor(ctx, cfg)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// Changes arrive evenly over time, so a fanout that started after a gap of
// three periods stands for three times as many changes as one after a
// period: over 50 + 150 ms, half the changes wait more than 50 ms and a
// quarter more than 100.
func TestDeliveryWeighsAFrameByItsGap(t *testing.T) {
	h := new(hist)
	addDelivery(h, 0, 50*time.Millisecond, 50*time.Millisecond)
	addDelivery(h, 0, 150*time.Millisecond, 50*time.Millisecond)
	assert.InDelta(t, 50, h.quantile(0.5).Seconds()*1000, 5, "median wait, ms (p50 %v)", h.quantile(0.5))
	assert.InDelta(t, 100, h.quantile(0.75).Seconds()*1000, 8, "p75 wait, ms (p75 %v)", h.quantile(0.75))
}
