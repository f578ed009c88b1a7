package wire

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeClient(t *testing.T) {
	s, err := DecodeClient([]byte(`{"op":"subscribe","guild_id":"12","ranges":[[0,99],[100,399]],"extra":1}`))
	require.NoError(t, err)
	require.Equal(t, &Subscribe{Op: "subscribe", GuildID: "12", Ranges: [][2]int{{0, 99}, {100, 399}}}, s)
	for in, want := range map[string]error{
		`[`:                ErrMalformed,
		`{"op":"x"}`:       ErrUnknownOp,
		`{"guild_id":"1"}`: ErrUnknownOp,
		`{"op":"subscribe","guild_id":"01","ranges":[[0,1]]}`:  ErrBadGuild,
		`{"op":"subscribe","guild_id":"1","ranges":[[0,300]]}`: ErrBadRanges,
		`{"op":"subscribe","guild_id":"1","ranges":[[1]]}`:     ErrBadRanges,
		`{"op":"subscribe","guild_id":"1"}`:                    ErrBadRanges,
	} {
		_, err := DecodeClient([]byte(in))
		require.ErrorIs(t, err, want, in)
	}
}

func TestOpJSON(t *testing.T) {
	ops := []Op{
		{Op: OpSync, Range: [2]int{0, 1}},
		{Op: OpInsert, Index: 0, Item: &Item{Group: &Group{ID: "online", Count: 2}}},
		{Op: OpDelete, Index: 3},
		{Op: OpInvalidate, Range: [2]int{5, 9}},
	}
	data, err := json.Marshal(ops)
	require.NoError(t, err)
	require.JSONEq(t, `[{"op":"SYNC","range":[0,1],"items":[]},{"op":"INSERT","index":0,"item":{"group":{"id":"online","count":2}}},{"op":"DELETE","index":3},{"op":"INVALIDATE","range":[5,9]}]`, string(data))
	var back []Op
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, OpInsert, back[1].Op)
	require.Equal(t, 2, back[1].Item.Group.Count)
}

// FuzzDecodeClient: any bytes either decode to a message that satisfies every
// limit, or fail with one of the documented errors; never a panic.
func FuzzDecodeClient(f *testing.F) {
	for _, s := range []string{
		`{"op":"subscribe","guild_id":"1","ranges":[[0,99]]}`,
		`{"op":"subscribe","guild_id":"18446744073709551615","ranges":[[0,0],[1,300],[5,5]]}`,
		`{"op":"subscribe","guild_id":"1","ranges":[[0,1,2]]}`,
		`{"op":null}`, `[]`, ``, `{"op":"subscribe","guild_id":"1","ranges":[[9223372036854775807,9223372036854775807]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeClient(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownOp) && !errors.Is(err, ErrBadGuild) && !errors.Is(err, ErrBadRanges) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if _, err := ParseID(s.GuildID); err != nil {
			t.Fatalf("accepted guild id %q", s.GuildID)
		}
		if len(s.Ranges) < 1 || len(s.Ranges) > MaxRanges {
			t.Fatalf("accepted %d ranges", len(s.Ranges))
		}
		for _, r := range s.Ranges {
			if r[0] < 0 || r[1] < r[0] || r[1]-r[0] >= MaxRangeWidth {
				t.Fatalf("accepted range %v", r)
			}
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := DecodeClient(again)
		if err != nil || s2.GuildID != s.GuildID || len(s2.Ranges) != len(s.Ranges) {
			t.Fatalf("re-encoded message %s does not decode the same: %v", again, err)
		}
	})
}
