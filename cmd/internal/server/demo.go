package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/bucketed/sortedset/cmd/internal/guild"
)

// DemoGuild is the id of the guild that -demo seeds.
const DemoGuild = 1

var demoRoles = []guild.Role{
	{ID: 11, Name: "Admin", Position: 40, Hoist: true},
	{ID: 12, Name: "Moderator", Position: 30, Hoist: true},
	{ID: 13, Name: "Server Booster", Position: 20, Hoist: true},
	{ID: 14, Name: "Regular", Position: 10, Hoist: false},
}

var syllables = []string{"ka", "zu", "mi", "ro", "tan", "el", "vi", "no", "sha", "qu", "or", "lin", "bex", "ty", "fa", "jo", "dar", "wen", "ix", "pa"}

func demoMember(rng *rand.Rand, id uint64) guild.Member {
	name := ""
	for n := 2 + rng.IntN(3); n > 0; n-- {
		name += syllables[rng.IntN(len(syllables))]
	}
	if rng.IntN(3) == 0 {
		name = string(name[0]-'a'+'A') + name[1:]
	}
	if rng.IntN(4) == 0 {
		name += fmt.Sprint(rng.IntN(1000))
	}
	var roles []uint64
	switch x := rng.IntN(1000); {
	case x < 3:
		roles = []uint64{11, 14}
	case x < 15:
		roles = []uint64{12, 14}
	case x < 60:
		roles = []uint64{13}
	case x < 500:
		roles = []uint64{14}
	}
	return guild.Member{ID: id, Name: name, Roles: roles, Status: demoStatus(rng)}
}

func demoStatus(rng *rand.Rand) guild.Status {
	switch x := rng.IntN(100); {
	case x < 20:
		return guild.Online
	case x < 25:
		return guild.Idle
	case x < 28:
		return guild.DND
	}
	return guild.Offline
}

// SeedDemo creates the demo guild with n members if it does not exist, and
// gives every member of it a random presence (presence is not stored).
func (s *Server) SeedDemo(n int) error {
	rng := rand.New(rand.NewPCG(1, 1))
	if s.owner(DemoGuild) == nil {
		ms := make([]guild.Member, n)
		for i := range ms {
			ms[i] = demoMember(rng, uint64(1_000_000+i))
		}
		if err := s.store.CreateGuild(DemoGuild, "Demo Guild", demoRoles, ms); err != nil {
			return err
		}
		l := guild.NewList(DemoGuild, "Demo Guild", demoRoles, ms)
		s.mu.Lock()
		s.guilds[DemoGuild] = guild.NewOwner(l, &s.metrics)
		s.mu.Unlock()
		return nil
	}
	o := s.owner(DemoGuild)
	var ours bool
	if err := o.Do(context.Background(), func(l *guild.List) {
		ours = l.Name == "Demo Guild" && slices.Equal(l.Roles, demoRoles)
	}); err != nil {
		return err
	}
	if !ours { // the churn would rename and remove somebody's members, durably
		return fmt.Errorf("-demo: guild %d exists and is not the demo guild; use another -data", DemoGuild)
	}
	return o.Do(context.Background(), func(l *guild.List) {
		for _, m := range l.Members() {
			l.SetStatus(m.ID, demoStatus(rng))
		}
	})
}

// RunDemoChurn changes the demo guild until ctx ends: every 100 ms about 40
// presence changes and a few joins, leaves, renames and role changes, so
// that the page always has something moving.
func (s *Server) RunDemoChurn(ctx context.Context) {
	o := s.owner(DemoGuild)
	if o == nil {
		return
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	var ids []uint64
	o.Do(ctx, func(l *guild.List) {
		for _, m := range l.Members() {
			ids = append(ids, m.ID)
		}
	})
	next := uint64(2_000_000 + rng.IntN(1_000_000_000))
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var done <-chan error // of the tick's last write
		err := o.Do(ctx, func(l *guild.List) {
			if s.store.Err() != nil {
				return // the store takes no writes: memory must not run ahead of it
			}
			for k := 0; k < 40 && len(ids) > 0; k++ {
				l.SetStatus(ids[rng.IntN(len(ids))], demoStatus(rng))
			}
			for k := rng.IntN(4); k > 0 && len(ids) > 0; k-- {
				switch rng.IntN(4) {
				case 0: // join
					m := demoMember(rng, next)
					next++
					if _, err := l.Upsert(m); err == nil {
						done = s.store.PutMember(DemoGuild, m)
						ids = append(ids, m.ID)
					}
				case 1: // leave
					i := rng.IntN(len(ids))
					if _, ok := l.Remove(ids[i]); ok {
						done = s.store.DeleteMember(DemoGuild, ids[i])
					}
					ids[i] = ids[len(ids)-1]
					ids = ids[:len(ids)-1]
				default: // rename or new roles, same presence
					id := ids[rng.IntN(len(ids))]
					if old, ok := l.Get(id); ok {
						m := demoMember(rng, id)
						m.Status = old.Status
						if rng.IntN(2) == 0 {
							m.Name = old.Name
						}
						if _, err := l.Upsert(m); err == nil {
							done = s.store.PutMember(DemoGuild, m)
						}
					}
				}
			}
		})
		if err != nil && ctx.Err() != nil {
			return
		}
		// Like an HTTP write, the churn must not stay in memory when its
		// commit fails. Every write after a failed one fails too, so the
		// last write's answer covers the tick's.
		s.committed(ctx, done)
	}
}
