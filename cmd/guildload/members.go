//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Roles of the load guild: Staff (hoisted, top) holds only the hot members,
// Mod (hoisted) about one member in 5,000, Member (not hoisted) the rest.
const (
	roleStaff  = "11"
	roleMod    = "12"
	roleMember = "13"
)

var guildRoles = []map[string]any{
	{"id": roleStaff, "name": "Staff", "position": 30, "hoist": true},
	{"id": roleMod, "name": "Mod", "position": 20, "hoist": true},
	{"id": roleMember, "name": "Member", "position": 1, "hoist": false},
}

// Member ids: hot member k is hotBase+k, initial member i is memberBase+i,
// members that join during the churn get joinBase+n.
const (
	hotBase    = 1_000
	memberBase = 10_000_000
	joinBase   = 900_000_000
)

var syllables = []string{"ka", "ri", "mo", "zu", "Le", "an", "to", "Vi", "ne", "sa", "ul", "Po", "ir", "de", "Mi", "go", "ba", "xe", "fa", "yo", "Qu", "el", "io", "ra"}

// randomName is a name for member number i with a rename generation gen:
// a few syllables then the number, so most names are distinct and they spread
// evenly over the alphabet.
func randomName(i uint64, gen int) string {
	h := (i+1)*0x9E3779B97F4A7C15 + uint64(gen)*0xBF58476D1CE4E5B9
	h ^= h >> 31
	n := 2 + int(h%3)
	b := make([]byte, 0, 24)
	for k := 0; k < n; k++ {
		h = h*6364136223846793005 + 1442695040888963407
		b = append(b, syllables[(h>>33)%uint64(len(syllables))]...)
	}
	b = append(b, '_')
	b = strconv.AppendUint(b, i, 10)
	if gen > 0 {
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(gen), 10)
	}
	return string(b)
}

func rolesOf(i uint64) []string {
	if i%5000 == 7 {
		return []string{roleMod, roleMember}
	}
	if i%4 == 0 {
		return []string{}
	}
	return []string{roleMember}
}

func hotName(k int, seq uint64) string {
	if seq == 0 {
		return fmt.Sprintf("Staff %03d", k)
	}
	return fmt.Sprintf("Staff %03d #%d", k, seq)
}

var statuses = []string{"online", "idle", "dnd", "offline"}

const (
	stOnline uint8 = iota
	stIdle
	stDND
	stOffline
)

func rolesJSON(roles []string) string {
	b, _ := json.Marshal(roles)
	return string(b)
}
