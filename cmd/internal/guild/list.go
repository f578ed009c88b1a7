// Package guild is the member-list model: a guild's members in one sorted
// set, the group headers around them, and (owner.go) the goroutine that owns a
// guild and streams index-based updates to subscribed sessions.
//
// The list is: for each non-empty group, a header item then the group's
// members. Groups are the hoisted roles by position descending (ties: role id
// ascending), then "online", then "offline". Inside a group members are sorted
// by strings.ToLower(name) as bytes, then id. Only the members are in the
// sorted set, keyed by (group rank, lower name, id); a header's index is the
// sum of (1 + count) over the non-empty groups before it, so the global index
// of a member is its rank in the set plus the number of non-empty groups up to
// and including its own: O(log n + groups).
package guild

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/bucketed/sortedset"
	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// Status is a member's presence.
type Status uint8

// Statuses; Offline is the zero value because presence is not stored.
const (
	Offline Status = iota
	Online
	Idle
	DND
)

var statusNames = [...]string{wire.StatusOffline, wire.StatusOnline, wire.StatusIdle, wire.StatusDND}

func (s Status) String() string { return statusNames[s] }

// ParseStatus maps "online", "idle", "dnd" and "offline" to a Status.
func ParseStatus(s string) (Status, bool) {
	for i, n := range statusNames {
		if n == s {
			return Status(i), true
		}
	}
	return 0, false
}

// Role is a guild role.
type Role struct {
	ID       uint64
	Name     string
	Position int
	Hoist    bool
}

// Member is a member as the API and the store see it.
type Member struct {
	ID     uint64
	Name   string
	Roles  []uint64
	Status Status
}

// Errors of List.Upsert.
var ErrUnknownRole = errors.New("unknown role")

// key is what the sorted set holds: 32 bytes, the name shared with member.
type key struct {
	group uint32
	lname string
	id    uint64
}

func compareKeys(a, b key) int {
	if a.group != b.group {
		return cmp.Compare(a.group, b.group)
	}
	if c := strings.Compare(a.lname, b.lname); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// prefixKey packs the group (high 16 bits) and the first 6 bytes of the lower
// name: monotone in compareKeys' order, so the set can search uint64s and call
// compareKeys only on ties (sortedset.WithKey). Groups past 16 bits (more
// hoisted roles than guildd allows) all get the largest key, which leaves
// their order to compareKeys.
func prefixKey(k key) uint64 {
	if k.group >= 0xffff {
		return math.MaxUint64
	}
	v := uint64(k.group) << 48
	for i := 0; i < 6; i++ {
		var c byte
		if i < len(k.lname) {
			c = k.lname[i]
		}
		v |= uint64(c) << (40 - 8*i)
	}
	return v
}

func newSet(keys []key) *sortedset.Set[key] {
	s, err := sortedset.FromSortedFunc(keys, compareKeys, sortedset.WithKey(prefixKey))
	if err != nil {
		panic("guild: keys not sorted: " + err.Error()) // sorted and deduplicated by ids just before
	}
	return s
}

// sortKeys sorts keys, the two halves on two goroutines when it is worth it
// (start-up of a million-member guild), then merges them.
func sortKeys(keys []key) []key {
	if len(keys) < 1<<16 {
		slices.SortFunc(keys, compareKeys)
		return keys
	}
	a, b := keys[:len(keys)/2], keys[len(keys)/2:]
	done := make(chan struct{})
	go func() { slices.SortFunc(a, compareKeys); close(done) }()
	slices.SortFunc(b, compareKeys)
	<-done
	out := make([]key, 0, len(keys))
	for len(a) > 0 && len(b) > 0 {
		if compareKeys(a[0], b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// member is the stored form. roles is never mutated in place (a change
// allocates a new slice), so pending ops may keep references to it.
type member struct {
	name, lname string
	roles       []uint64
	status      Status
	group       uint32
}

// Observer learns every change of the list, after the list reflects it, so it
// may read the new state (ItemAt). Inserted/Deleted are blocks of k items at
// index i; Reset means "everything may have changed".
type Observer interface {
	Inserted(i, k int)
	Deleted(i, k int)
	Updated(i int)
	Reset()
}

// List is one guild's member list. It is not safe for concurrent use: its
// owner goroutine is the only user.
type List struct {
	ID    uint64
	Name  string
	Roles []Role

	rank     map[uint64]uint32 // hoisted role id -> group rank
	groupIDs []string          // group rank -> wire id
	members  map[uint64]*member
	set      *sortedset.Set[key]
	counts   []int // members per group rank
	online   int
	obs      Observer
}

// NewList builds a list from members in any order (ids must be distinct) in
// O(n log n): one sort, then a bulk load of the set.
func NewList(id uint64, name string, roles []Role, members []Member) *List {
	l := &List{ID: id, Name: name, members: make(map[uint64]*member, len(members))}
	slab := make([]member, len(members)) // one allocation for all; see store.loadMembers
	for i, m := range members {
		slab[i] = member{name: m.Name, lname: strings.ToLower(m.Name), roles: m.Roles, status: m.Status}
		l.members[m.ID] = &slab[i]
	}
	l.SetGuild(name, roles)
	return l
}

// Restore makes l the list of name, roles and members (as the store holds
// them), keeping the presence of the members it already has; the observer
// gets Reset.
func (l *List) Restore(name string, roles []Role, members []Member) {
	for i := range members {
		if old, ok := l.members[members[i].ID]; ok {
			members[i].Status = old.status
		}
	}
	nl := NewList(l.ID, name, roles, members)
	nl.obs = l.obs
	*l = *nl
	if l.obs != nil {
		l.obs.Reset()
	}
}

// SetObserver sets who hears about changes (nil: nobody).
func (l *List) SetObserver(o Observer) { l.obs = o }

// SetGuild replaces name and roles; every member's group is recomputed and the
// set rebuilt (O(n log n)), and the observer gets Reset.
func (l *List) SetGuild(name string, roles []Role) {
	l.Name, l.Roles = name, slices.Clone(roles)
	hoisted := []Role{}
	for _, r := range roles {
		if r.Hoist {
			hoisted = append(hoisted, r)
		}
	}
	slices.SortFunc(hoisted, func(a, b Role) int {
		if a.Position != b.Position {
			return cmp.Compare(b.Position, a.Position)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	l.rank = make(map[uint64]uint32, len(hoisted))
	l.groupIDs = l.groupIDs[:0]
	for i, r := range hoisted {
		l.rank[r.ID] = uint32(i)
		l.groupIDs = append(l.groupIDs, wire.FormatID(r.ID))
	}
	l.groupIDs = append(l.groupIDs, "online", "offline")
	l.counts = make([]int, len(l.groupIDs))
	l.online = 0
	keys := make([]key, 0, len(l.members))
	for id, m := range l.members {
		m.group = l.groupOf(m)
		l.counts[m.group]++
		if m.status != Offline {
			l.online++
		}
		keys = append(keys, key{m.group, m.lname, id})
	}
	l.set = newSet(sortKeys(keys))
	if l.obs != nil {
		l.obs.Reset()
	}
}

func (l *List) groupOf(m *member) uint32 {
	n := uint32(len(l.groupIDs))
	if m.status == Offline {
		return n - 1
	}
	best := n - 2
	for _, r := range m.roles {
		if g, ok := l.rank[r]; ok && g < best {
			best = g
		}
	}
	return best
}

// HasRole reports whether the guild has role id.
func (l *List) HasRole(id uint64) bool {
	for _, r := range l.Roles {
		if r.ID == id {
			return true
		}
	}
	return false
}

// MemberCount, OnlineCount and Size (items including headers).
func (l *List) MemberCount() int { return len(l.members) }
func (l *List) OnlineCount() int { return l.online }
func (l *List) Size() int {
	n := l.set.Len()
	for _, c := range l.counts {
		if c > 0 {
			n++
		}
	}
	return n
}

// Groups lists the non-empty groups in list order.
func (l *List) Groups() []wire.Group {
	gs := []wire.Group{}
	for g, c := range l.counts {
		if c > 0 {
			gs = append(gs, wire.Group{ID: l.groupIDs[g], Count: c})
		}
	}
	return gs
}

// Get returns member id.
func (l *List) Get(id uint64) (Member, bool) {
	m, ok := l.members[id]
	if !ok {
		return Member{}, false
	}
	return Member{id, m.name, m.roles, m.status}, true
}

// Contains reports whether id is a member.
func (l *List) Contains(id uint64) bool { _, ok := l.members[id]; return ok }

// headersUpTo counts the non-empty groups with rank <= g.
func (l *List) headersUpTo(g uint32) int {
	n := 0
	for _, c := range l.counts[:g+1] {
		if c > 0 {
			n++
		}
	}
	return n
}

// headerIndex is the index of group g's header (g non-empty).
func (l *List) headerIndex(g uint32) int {
	i := 0
	for _, c := range l.counts[:g] {
		if c > 0 {
			i += 1 + c
		}
	}
	return i
}

// IndexOf returns the list index of member id.
func (l *List) IndexOf(id uint64) (int, bool) {
	m, ok := l.members[id]
	if !ok {
		return -1, false
	}
	r, _ := l.set.IndexOf(key{m.group, m.lname, id})
	return r + l.headersUpTo(m.group), true
}

// ItemAt returns item i (0 <= i < Size) in O(groups + log n).
func (l *List) ItemAt(i int) wire.Item {
	pos, base := 0, 0
	for g, c := range l.counts {
		if c == 0 {
			continue
		}
		if i == pos {
			return wire.Item{Group: &wire.Group{ID: l.groupIDs[g], Count: c}}
		}
		if i <= pos+c {
			k, _ := l.set.At(base + i - pos - 1)
			return l.memberItem(k.id)
		}
		pos += 1 + c
		base += c
	}
	panic("guild: ItemAt out of range")
}

// Window returns items [start, start+count) clamped to the list.
func (l *List) Window(start, count int) []wire.Item {
	end := min(start+count, l.Size())
	items := make([]wire.Item, 0, max(end-start, 0))
	for i := start; i < end; i++ {
		items = append(items, l.ItemAt(i))
	}
	return items
}

func (l *List) memberItem(id uint64) wire.Item {
	m := l.members[id]
	roles := make([]string, len(m.roles))
	for i, r := range m.roles {
		roles[i] = wire.FormatID(r)
	}
	return wire.Item{Member: &wire.Member{ID: wire.FormatID(id), Name: m.name, Roles: roles, Status: m.status.String()}}
}

// Upsert adds member m or replaces its name, roles and status, and returns
// its new index. Roles must exist in the guild (ErrUnknownRole).
func (l *List) Upsert(m Member) (int, error) {
	for _, r := range m.Roles {
		if !l.HasRole(r) {
			return -1, ErrUnknownRole
		}
	}
	nm := &member{name: m.Name, lname: strings.ToLower(m.Name), roles: m.Roles, status: m.Status}
	return l.replace(m.ID, nm), nil
}

// SetStatus changes a member's presence; false if id is not a member.
func (l *List) SetStatus(id uint64, s Status) bool {
	old, ok := l.members[id]
	if !ok {
		return false
	}
	if old.status != s {
		nm := *old
		nm.status = s
		l.replace(id, &nm)
	}
	return true
}

// Remove removes member id and returns the index it had.
func (l *List) Remove(id uint64) (int, bool) {
	m, ok := l.members[id]
	if !ok {
		return -1, false
	}
	i := l.removeKey(key{m.group, m.lname, id})
	delete(l.members, id)
	if m.status != Offline {
		l.online--
	}
	return i, true
}

func (l *List) replace(id uint64, nm *member) int {
	nm.group = l.groupOf(nm)
	old, had := l.members[id]
	if had && old.status != Offline {
		l.online--
	}
	if nm.status != Offline {
		l.online++
	}
	nk := key{nm.group, nm.lname, id}
	if had && key(key{old.group, old.lname, id}) == nk {
		l.members[id] = nm
		i, _ := l.IndexOf(id)
		if l.obs != nil && (old.name != nm.name || old.status != nm.status || !slices.Equal(old.roles, nm.roles)) {
			l.obs.Updated(i)
		}
		return i
	}
	if had {
		l.removeKey(key{old.group, old.lname, id})
	}
	l.members[id] = nm
	return l.addKey(nk)
}

func (l *List) removeKey(k key) int {
	r, _ := l.set.Remove(k)
	i := r + l.headersUpTo(k.group) // before the decrement: the group still has its header
	l.counts[k.group]--
	if l.obs != nil {
		if l.counts[k.group] == 0 {
			l.obs.Deleted(i-1, 2) // the header goes with its last member
		} else {
			l.obs.Deleted(i, 1)
			l.obs.Updated(l.headerIndex(k.group))
		}
	}
	return i
}

func (l *List) addKey(k key) int {
	r, _ := l.set.Add(k)
	l.counts[k.group]++
	i := r + l.headersUpTo(k.group)
	if l.obs != nil {
		if l.counts[k.group] == 1 {
			l.obs.Inserted(i-1, 2)
		} else {
			l.obs.Inserted(i, 1)
			l.obs.Updated(l.headerIndex(k.group))
		}
	}
	return i
}

// Members returns every member (for tests and snapshots), in no order.
func (l *List) Members() []Member {
	out := make([]Member, 0, len(l.members))
	for id, m := range l.members {
		out = append(out, Member{id, m.name, m.roles, m.status})
	}
	return out
}
