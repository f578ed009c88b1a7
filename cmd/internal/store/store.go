// Package store keeps guildd's durable state, guilds and their members' names
// and roles, in a bbolt file. Presence is not stored.
//
// Writes are group-committed: Put*/Delete* queue a record and return a channel
// that yields the commit's error; one goroutine takes everything queued, writes
// it in a single transaction and fsyncs once. Records are applied in the order
// they were queued, so a guild's owner goroutine, which queues its writes in
// the order it applies them, gets the same order on disk.
//
// Layout: bucket "guilds": be64(guild) -> guild record; bucket "members":
// nested bucket be64(guild) -> be64(user) -> member record. Records are
// uvarint-length-prefixed binary, small and fast to scan at start-up.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/bucketed/sortedset/cmd/internal/guild"
)

var (
	bGuilds  = []byte("guilds")
	bMembers = []byte("members")
)

// ErrClosed is returned for writes queued after Close.
var ErrClosed = errors.New("store is closed")

// ErrFailed is returned for every write after a commit failed.
var ErrFailed = errors.New("store: an earlier commit failed")

const maxBatch = 8192

type kind uint8

const (
	putGuild kind = iota
	putMember
	delMember
)

type write struct {
	kind  kind
	guild uint64
	user  uint64
	val   []byte
	done  chan error
}

// Store is an open database.
type Store struct {
	db     *bolt.DB
	in     chan *write
	mu     sync.RWMutex // guards closed against sends on in
	closed bool
	wg     sync.WaitGroup
	failed atomic.Pointer[error] // first commit error; every write after it fails too
}

// Open opens or creates the database file path.
func Open(path string) (*Store, error) {
	if err := verify(path); err != nil {
		return nil, openError(path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, openError(path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bGuilds); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bMembers)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, in: make(chan *write, 1<<16)}
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

func openError(path string, err error) error {
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("store: open %s: locked by another process (is another guildd using this data dir?): %w", path, err)
	}
	return fmt.Errorf("store: open %s: %w", path, err)
}

// verify reads every page of an existing file read-only before the real
// Open: with NoFreelistSync, bbolt's read-write Open rebuilds the freelist by
// walking the whole tree on a goroutine of its own, where a damaged page is a
// panic nobody can recover. Here a damaged page is a panic on this goroutine
// (SetPanicOnFault turns a fault in the mapping into one too), hence an error.
func verify(path string) (err error) {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		return nil // a new file, or one Open will report on
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errCorrupt, r)
		}
	}()
	return db.View(func(tx *bolt.Tx) error {
		if tx.Size() > fi.Size() {
			return fmt.Errorf("%w: file is %d bytes, its pages need %d (truncated?)", errCorrupt, fi.Size(), tx.Size())
		}
		var walk func(b *bolt.Bucket) error
		walk = func(b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				if v == nil {
					if nb := b.Bucket(k); nb != nil {
						return walk(nb)
					}
				}
				return nil
			})
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(b) })
	})
}

// Close commits what is queued and closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.in)
	s.mu.Unlock()
	s.wg.Wait()
	return s.db.Close()
}

func (s *Store) queue(w *write) <-chan error {
	w.done = make(chan error, 1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		w.done <- ErrClosed
		return w.done
	}
	s.in <- w
	return w.done
}

// PutGuild queues a guild's name and roles.
func (s *Store) PutGuild(id uint64, name string, roles []guild.Role) <-chan error {
	return s.queue(&write{kind: putGuild, guild: id, val: encodeGuild(name, roles)})
}

// PutMember queues a member's name and roles.
func (s *Store) PutMember(g uint64, m guild.Member) <-chan error {
	return s.queue(&write{kind: putMember, guild: g, user: m.ID, val: encodeMember(m)})
}

// DeleteMember queues a member's removal.
func (s *Store) DeleteMember(g, user uint64) <-chan error {
	return s.queue(&write{kind: delMember, guild: g, user: user})
}

// Err is nil until a commit fails, and then ErrFailed (wrapping the cause):
// the store takes no more writes.
func (s *Store) Err() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *Store) writer() {
	defer s.wg.Done()
	batch := make([]*write, 0, maxBatch)
	for w := range s.in {
		batch = append(batch[:0], w)
	more:
		for len(batch) < maxBatch {
			select {
			case w, ok := <-s.in:
				if !ok {
					break more
				}
				batch = append(batch, w)
			default:
				break more
			}
		}
		err := s.Err()
		if err == nil {
			err = s.db.Update(func(tx *bolt.Tx) error { return apply(tx, batch) })
			if err != nil {
				// The memory state is ahead of the disk now; refuse all later
				// writes rather than acknowledge a history with a hole in it.
				failed := fmt.Errorf("%w: %v", ErrFailed, err)
				s.failed.Store(&failed)
			}
		}
		for _, w := range batch {
			w.done <- err
		}
	}
}

func apply(tx *bolt.Tx, batch []*write) error {
	guilds, members := tx.Bucket(bGuilds), tx.Bucket(bMembers)
	var k [8]byte
	for _, w := range batch {
		binary.BigEndian.PutUint64(k[:], w.guild)
		switch w.kind {
		case putGuild:
			if err := guilds.Put(k[:], w.val); err != nil {
				return err
			}
			if _, err := members.CreateBucketIfNotExists(k[:]); err != nil {
				return err
			}
		case putMember, delMember:
			b := members.Bucket(k[:])
			if b == nil {
				return fmt.Errorf("store: member of unknown guild %d", w.guild)
			}
			var uk [8]byte
			binary.BigEndian.PutUint64(uk[:], w.user)
			var err error
			if w.kind == putMember {
				err = b.Put(uk[:], w.val)
			} else {
				err = b.Delete(uk[:])
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Guild is a stored guild with its members (all offline).
type Guild struct {
	ID      uint64
	Name    string
	Roles   []guild.Role
	Members []guild.Member
}

// Load calls fn for every stored guild, one at a time.
func (s *Store) Load(fn func(g *Guild) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		members := tx.Bucket(bMembers)
		return tx.Bucket(bGuilds).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("store: guild key %x: %w", k, errCorrupt)
			}
			g := &Guild{ID: binary.BigEndian.Uint64(k)}
			var err error
			if g.Name, g.Roles, err = decodeGuild(v); err != nil {
				return fmt.Errorf("store: guild %d: %w", g.ID, err)
			}
			if b := members.Bucket(k); b != nil {
				if g.Members, err = loadMembers(b); err != nil {
					return fmt.Errorf("store: guild %d: %w", g.ID, err)
				}
			}
			return fn(g)
		})
	})
}

// loadMembers reads a guild's members. Names are cut from one string and
// roles from one slice for the whole guild: two allocations instead of two
// per member, which is most of the start-up time and of the heap's overhead
// for a million members. (A member replaced later leaves its bytes in the
// slab; the slab is bounded by what was loaded.)
func loadMembers(b *bolt.Bucket) ([]guild.Member, error) {
	n := b.Stats().KeyN
	ms := make([]guild.Member, 0, n)
	type span struct{ n0, n1, r0, r1 int }
	spans := make([]span, 0, n)
	names := make([]byte, 0, 12*n)
	var roles []uint64
	err := b.ForEach(func(uk, v []byte) error {
		if len(uk) != 8 {
			return fmt.Errorf("member key %x: %w", uk, errCorrupt)
		}
		var sp span
		name, v, err := readBytes(v)
		if err != nil {
			return err
		}
		sp.n0, sp.n1 = len(names), len(names)+len(name)
		names = append(names, name...)
		nr, v, err := readUvarint(v)
		if err != nil || nr > uint64(len(v)) {
			return errCorrupt
		}
		sp.r0 = len(roles)
		for ; nr > 0; nr-- {
			var r uint64
			if r, v, err = readUvarint(v); err != nil {
				return err
			}
			roles = append(roles, r)
		}
		sp.r1 = len(roles)
		ms = append(ms, guild.Member{ID: binary.BigEndian.Uint64(uk)})
		spans = append(spans, sp)
		return nil
	})
	if err != nil {
		return nil, err
	}
	all := string(names)
	for i, sp := range spans {
		ms[i].Name = all[sp.n0:sp.n1]
		if sp.r1 > sp.r0 {
			ms[i].Roles = roles[sp.r0:sp.r1:sp.r1] // full slice expression: no append can clobber a neighbour
		}
	}
	return ms, nil
}

// BulkPutMembers writes many members of an existing guild in one transaction.
func (s *Store) BulkPutMembers(g uint64, ms []guild.Member) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putMembers(tx, g, ms) })
}

// CreateGuild writes a guild and its members in one transaction (demo
// seeding): a crash leaves all of it or none, never a guild without them.
func (s *Store) CreateGuild(g uint64, name string, roles []guild.Role, ms []guild.Member) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := apply(tx, []*write{{kind: putGuild, guild: g, val: encodeGuild(name, roles)}}); err != nil {
			return err
		}
		return putMembers(tx, g, ms)
	})
}

func putMembers(tx *bolt.Tx, g uint64, ms []guild.Member) error {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], g)
	b := tx.Bucket(bMembers).Bucket(k[:])
	if b == nil {
		return fmt.Errorf("store: unknown guild %d", g)
	}
	for _, m := range ms {
		var uk [8]byte
		binary.BigEndian.PutUint64(uk[:], m.ID)
		if err := b.Put(uk[:], encodeMember(m)); err != nil {
			return err
		}
	}
	return nil
}

var errCorrupt = errors.New("corrupt record")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func readUvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errCorrupt
	}
	return v, b[n:], nil
}

func readBytes(b []byte) ([]byte, []byte, error) {
	n, b, err := readUvarint(b)
	if err != nil || n > uint64(len(b)) {
		return nil, nil, errCorrupt
	}
	return b[:n], b[n:], nil
}

func readString(b []byte) (string, []byte, error) {
	n, b, err := readUvarint(b)
	if err != nil || n > uint64(len(b)) {
		return "", nil, errCorrupt
	}
	return string(b[:n]), b[n:], nil // string() copies out of bbolt's mmap
}

func encodeMember(m guild.Member) []byte {
	b := appendString(make([]byte, 0, 1+len(m.Name)+1+9*len(m.Roles)), m.Name)
	b = binary.AppendUvarint(b, uint64(len(m.Roles)))
	for _, r := range m.Roles {
		b = binary.AppendUvarint(b, r)
	}
	return b
}

func encodeGuild(name string, roles []guild.Role) []byte {
	b := appendString(nil, name)
	b = binary.AppendUvarint(b, uint64(len(roles)))
	for _, r := range roles {
		b = binary.AppendUvarint(b, r.ID)
		b = appendString(b, r.Name)
		b = binary.AppendVarint(b, int64(r.Position))
		h := byte(0)
		if r.Hoist {
			h = 1
		}
		b = append(b, h)
	}
	return b
}

func decodeGuild(b []byte) (string, []guild.Role, error) {
	name, b, err := readString(b)
	if err != nil {
		return "", nil, err
	}
	n, b, err := readUvarint(b)
	if err != nil || n > uint64(len(b)) {
		return "", nil, errCorrupt
	}
	roles := make([]guild.Role, n)
	for i := range roles {
		r := &roles[i]
		if r.ID, b, err = readUvarint(b); err != nil {
			return "", nil, err
		}
		if r.Name, b, err = readString(b); err != nil {
			return "", nil, err
		}
		p, k := binary.Varint(b)
		if k <= 0 || len(b) < k+1 {
			return "", nil, errCorrupt
		}
		r.Position, r.Hoist, b = int(p), b[k] == 1, b[k+1:]
	}
	return name, roles, nil
}
