package policy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Change is how a replayed decision differs from the logged one.
type Change string

const (
	NewlyAllowed Change = "deny→allow"
	NewlyDenied  Change = "allow→deny"
	OtherReasons Change = "same verdict, other reasons" // denied both times, with another code or reasons
)

// Replay is what a policy would have decided on a decision log.
type Replay struct {
	Decisions int // lines read
	Replayed  int // decided again
	Unchanged int
	Changed   int
	// Not replayed, counted and never guessed at: inputs the log masked
	// or withheld (a masked value could decide either way), and unsealed
	// requests, which were refused before any policy saw them.
	Masked   int
	Unsealed int
	Groups   []*ReplayGroup // the changes, most frequent first
}

// ReplayGroup is the changes of one kind for one message name and one
// pair of reasons.
type ReplayGroup struct {
	Change   Change   `json:"change"`
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	Was      Verdict  `json:"was"`
	Now      Verdict  `json:"now"`
	Count    int      `json:"count"`
	Examples []*Input `json:"examples"` // the first few inputs, as logged
}

// NewlyAllowed counts the decisions the new policy would allow that the
// logged one denied: what `policy replay --fail-on allow` gates on.
func (r *Replay) NewlyAllowed() int {
	n := 0
	for _, g := range r.Groups {
		if g.Change == NewlyAllowed {
			n += g.Count
		}
	}
	return n
}

// ReplayLog re-decides every decision of a decision log (one JSON line per
// decision, as DecisionLog writes) with p, schemas included, and groups
// the ones that would change. examples bounds the inputs kept per group.
// A line that is not a decision is an error naming its line number.
func ReplayLog(ctx context.Context, p *Policy, log io.Reader, examples int) (*Replay, error) {
	r := &Replay{}
	groups := map[string]*ReplayGroup{}
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var d struct {
			Decision
			Input json.RawMessage `json:"input"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("line %d: not a decision: %v", line, err)
		}
		r.Decisions++
		switch {
		case len(d.Erased) > 0 || len(d.Masked) > 0 || len(d.Input) == 0 || string(d.Input) == "null":
			r.Masked++
			continue
		case d.Unsealed || len(d.Result.Reasons) > 0 && strings.HasPrefix(d.Result.Reasons[0], "unsealed: "):
			r.Unsealed++
			continue
		}
		var in Input
		dec := json.NewDecoder(bytes.NewReader(d.Input))
		dec.UseNumber() // numbers exactly as logged, as the core decodes them
		if err := dec.Decode(&in); err != nil {
			return nil, fmt.Errorf("line %d: the input: %v", line, err)
		}
		now := p.Check(ctx, in)
		r.Replayed++
		change, changed := compare(d.Result, now)
		if !changed {
			r.Unchanged++
			continue
		}
		r.Changed++
		key := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%q\x00%s\x00%q", change, in.Kind, in.Name, d.Result.Code, d.Result.Reasons, now.Code, now.Reasons)
		g := groups[key]
		if g == nil {
			g = &ReplayGroup{Change: change, Kind: in.Kind, Name: in.Name, Was: d.Result, Now: now}
			groups[key] = g
		}
		g.Count++
		if len(g.Examples) < examples {
			g.Examples = append(g.Examples, &in)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the log: %w", err)
	}
	for _, g := range groups {
		r.Groups = append(r.Groups, g)
	}
	sort.Slice(r.Groups, func(i, j int) bool {
		a, b := r.Groups[i], r.Groups[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Change != b.Change {
			return a.Change < b.Change
		}
		return a.Name < b.Name
	})
	return r, nil
}

// compare says how now differs from was, if it does. Reasons are compared
// as sets: their order is the evaluator's.
func compare(was, now Verdict) (Change, bool) {
	switch {
	case !was.Allow && now.Allow:
		return NewlyAllowed, true
	case was.Allow && !now.Allow:
		return NewlyDenied, true
	case was.Allow:
		return "", false
	}
	a, b := slices.Clone(was.Reasons), slices.Clone(now.Reasons)
	slices.Sort(a)
	slices.Sort(b)
	if was.Code != now.Code || !slices.Equal(a, b) {
		return OtherReasons, true
	}
	return "", false
}
