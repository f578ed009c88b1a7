// Package wire holds the JSON shapes of guildd's HTTP API and gateway, shared
// by the server, the client-side replica and the load generator, so that the
// two ends cannot drift apart.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Statuses a member can have. Anything else is rejected.
const (
	StatusOnline  = "online"
	StatusIdle    = "idle"
	StatusDND     = "dnd"
	StatusOffline = "offline"
)

// Limits of the gateway protocol.
const (
	MaxRanges     = 3        // ranges per subscribe
	MaxRangeWidth = 300      // rows per range (end-start+1)
	MaxFrame      = 64 << 10 // bytes per client frame; larger closes with 1009
)

// Group is a group header item and an entry of a message's "groups".
// ID is a role id, "online" or "offline".
type Group struct {
	ID    string `json:"id"`
	Count int    `json:"count"`
}

// Member is a member item.
type Member struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Roles  []string `json:"roles"`
	Status string   `json:"status"`
}

// Item is one row of the list: exactly one of Group and Member is set.
type Item struct {
	Group  *Group  `json:"group,omitempty"`
	Member *Member `json:"member,omitempty"`
}

// Equal reports whether two items have the same content.
func (a Item) Equal(b Item) bool {
	switch {
	case a.Group != nil && b.Group != nil:
		return *a.Group == *b.Group
	case a.Member != nil && b.Member != nil:
		x, y := a.Member, b.Member
		if x.ID != y.ID || x.Name != y.Name || x.Status != y.Status || len(x.Roles) != len(y.Roles) {
			return false
		}
		for i := range x.Roles {
			if x.Roles[i] != y.Roles[i] {
				return false
			}
		}
		return true
	}
	return a.Group == nil && b.Group == nil && a.Member == nil && b.Member == nil
}

// String is a short form for test failure messages.
func (a Item) String() string {
	switch {
	case a.Group != nil:
		return fmt.Sprintf("[%s %d]", a.Group.ID, a.Group.Count)
	case a.Member != nil:
		return fmt.Sprintf("%s:%q/%s%v", a.Member.ID, a.Member.Name, a.Member.Status, a.Member.Roles)
	}
	return "<empty>"
}

// Op kinds.
const (
	OpSync       = "SYNC"
	OpInsert     = "INSERT"
	OpDelete     = "DELETE"
	OpUpdate     = "UPDATE"
	OpInvalidate = "INVALIDATE"
)

// Op is one operation of a GUILD_MEMBER_LIST_UPDATE. Range is used by SYNC
// and INVALIDATE, Index by INSERT, DELETE and UPDATE, Item by INSERT and
// UPDATE, Items by SYNC.
type Op struct {
	Op    string
	Range [2]int
	Index int
	Item  *Item
	Items []Item
}

type opSync struct {
	Op    string `json:"op"`
	Range [2]int `json:"range"`
	Items []Item `json:"items"`
}
type opInvalidate struct {
	Op    string `json:"op"`
	Range [2]int `json:"range"`
}
type opIndex struct {
	Op    string `json:"op"`
	Index int    `json:"index"`
	Item  *Item  `json:"item,omitempty"`
}

// MarshalJSON writes exactly the fields that the op kind has.
func (o Op) MarshalJSON() ([]byte, error) {
	switch o.Op {
	case OpSync:
		items := o.Items
		if items == nil {
			items = []Item{}
		}
		return json.Marshal(opSync{o.Op, o.Range, items})
	case OpInvalidate:
		return json.Marshal(opInvalidate{o.Op, o.Range})
	case OpInsert, OpUpdate:
		return json.Marshal(opIndex{o.Op, o.Index, o.Item})
	case OpDelete:
		return json.Marshal(opIndex{Op: o.Op, Index: o.Index})
	}
	return nil, fmt.Errorf("wire: unknown op %q", o.Op)
}

// UnmarshalJSON reads any op kind; it does not check that the fields fit.
func (o *Op) UnmarshalJSON(b []byte) error {
	var raw struct {
		Op    string `json:"op"`
		Range [2]int `json:"range"`
		Index int    `json:"index"`
		Item  *Item  `json:"item"`
		Items []Item `json:"items"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*o = Op{raw.Op, raw.Range, raw.Index, raw.Item, raw.Items}
	return nil
}

// TypeUpdate and TypeError are the values of a server message's "t".
const (
	TypeUpdate = "GUILD_MEMBER_LIST_UPDATE"
	TypeError  = "ERROR"
)

// Update is a GUILD_MEMBER_LIST_UPDATE. The counts and Groups are those after
// all Ops; Seq numbers a session's updates 1, 2, 3... with no gaps.
type Update struct {
	T           string  `json:"t"`
	Seq         int64   `json:"seq"`
	GuildID     string  `json:"guild_id"`
	MemberCount int     `json:"member_count"`
	OnlineCount int     `json:"online_count"`
	Size        int     `json:"size"`
	Groups      []Group `json:"groups"`
	Ops         []Op    `json:"ops"`
}

// UpdateBody is an Update without "t" and "seq": the part that the server
// encodes once and shares between sessions.
type UpdateBody struct {
	GuildID     string  `json:"guild_id"`
	MemberCount int     `json:"member_count"`
	OnlineCount int     `json:"online_count"`
	Size        int     `json:"size"`
	Groups      []Group `json:"groups"`
	Ops         []Op    `json:"ops"`
}

// ServerMessage is any server → client message: check T first.
type ServerMessage struct {
	Update
	Message string `json:"message"` // for ERROR
}

// DecodeServer decodes one server frame.
func DecodeServer(data []byte) (*ServerMessage, error) {
	var m ServerMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m.T != TypeUpdate && m.T != TypeError {
		return nil, fmt.Errorf("wire: unknown message type %q", m.T)
	}
	return &m, nil
}

// Subscribe is the client's only message: {"op":"subscribe","guild_id","ranges"}.
type Subscribe struct {
	Op      string   `json:"op"`
	GuildID string   `json:"guild_id"`
	Ranges  [][2]int `json:"ranges"`
}

// Client decoding errors; the gateway sends their text in an ERROR message.
var (
	ErrMalformed = errors.New("malformed message")
	ErrUnknownOp = errors.New("unknown op")
	ErrBadGuild  = errors.New("guild_id must be a decimal uint64 string")
	ErrBadRanges = errors.New("ranges must be 1 to 3 pairs [start, end] with 0 <= start <= end and end-start < 300")
)

// DecodeClient decodes and validates a client frame. Every error wraps one of
// the Err* values above; a nil error means the message is safe to act on.
func DecodeClient(data []byte) (*Subscribe, error) {
	var raw struct {
		Op      *string         `json:"op"`
		GuildID json.RawMessage `json:"guild_id"`
		Ranges  json.RawMessage `json:"ranges"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if raw.Op == nil {
		return nil, fmt.Errorf("%w: missing op", ErrUnknownOp)
	}
	if *raw.Op != "subscribe" {
		return nil, fmt.Errorf("%w: %q", ErrUnknownOp, *raw.Op)
	}
	var gid string
	if err := json.Unmarshal(raw.GuildID, &gid); err != nil {
		return nil, ErrBadGuild
	}
	if _, err := ParseID(gid); err != nil {
		return nil, ErrBadGuild
	}
	// [][]int rather than [][2]int: encoding/json silently drops a third
	// element of a fixed-size array, and a pair must be exactly a pair.
	var rs [][]int
	if err := json.Unmarshal(raw.Ranges, &rs); err != nil {
		return nil, ErrBadRanges
	}
	if len(rs) < 1 || len(rs) > MaxRanges {
		return nil, ErrBadRanges
	}
	s := &Subscribe{Op: "subscribe", GuildID: gid}
	for _, r := range rs {
		if len(r) != 2 || r[0] < 0 || r[0] > r[1] || r[1]-r[0] >= MaxRangeWidth {
			return nil, ErrBadRanges
		}
		s.Ranges = append(s.Ranges, [2]int{r[0], r[1]})
	}
	return s, nil
}

// ErrBadID is returned by ParseID.
var ErrBadID = errors.New("id must be a decimal uint64 without sign or leading zeros")

// ParseID parses a snowflake id. Only the canonical form is accepted, so that
// "7" and "007" cannot name two different rows of one member.
func ParseID(s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(v, 10) != s {
		return 0, ErrBadID
	}
	return v, nil
}

// FormatID is the inverse of ParseID.
func FormatID(v uint64) string { return strconv.FormatUint(v, 10) }
