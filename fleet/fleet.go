// Package fleet makes isogate a managed OPA client: an OPA configuration
// (services, bundles, decision_logs, status, keys, labels) is handed to
// OPA's own plugin manager and plugins, which poll the bundle server (with
// ETags, backoff and signature verification), upload decision logs and
// report status. Nothing here re-implements them: when the bundle plugin
// has activated a bundle, the policy is built from what it activated, the
// whole of it (docs/fleet.md), and handed on; one that does not build is
// refused, and the last good policy keeps deciding.
package fleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/plugins/discovery"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/isogate/isogate/policy"
)

// Fleet is one running set of OPA plugins.
//
// Neither OPA's bundle activation nor its decision-log plugin is on the
// message path: an activated bundle is copied inside OPA's commit and built
// afterwards, by buildLoop, and decisions are queued for the plugin, by
// sendLoop, dropped (and counted) when the queue is full. The message path
// never waits on OPA's store or its plugins' locks.
type Fleet struct {
	manager *plugins.Manager
	store   storage.Store
	log     *slog.Logger
	bundle  atomic.Pointer[string] // the bundle's name, once one built into a policy
	status  chan *plugins.Status   // isogate's own status for the status plugin; the latest wins
	builds  chan *snapshot         // the latest bundle activated and not yet built; the latest wins
	queue   chan *policy.Decision  // decisions for OPA's decision-log plugin
	dropped atomic.Uint64          // decisions the full queue did not take
	stopped atomic.Bool            // Stop has begun: Log queues nothing more
	cancel  context.CancelFunc     // stops the loops
	loops   sync.WaitGroup
}

// QueueSize bounds the decisions waiting for OPA's decision-log plugin.
const QueueSize = 4096

// StatusName is the name isogate's own status has in OPA's status reports
// (under "plugins"): OK with the revision deciding, or ERROR when the last
// bundle OPA activated was refused by isogate, saying why and which
// revision keeps deciding.
const StatusName = "isogate"

// Start hands config (OPA's configuration file, JSON or YAML) to OPA's
// plugin manager and starts its plugins. Each bundle the bundle plugin
// activates is built into a policy: onPolicy gets it, or onRefused why
// not, both on a goroutine of the fleet's own, which Stop waits for: they
// must not block. id names this install to the services (OPA's instance
// id).
func Start(ctx context.Context, config []byte, id string, log *slog.Logger, onPolicy func(*policy.Policy), onRefused func(error)) (*Fleet, error) {
	store := inmem.New()
	lg := newOPALogger(log)
	m, err := plugins.New(config, id, store, plugins.Logger(lg), plugins.ConsoleLogger(lg))
	if err != nil {
		return nil, fmt.Errorf("the OPA configuration: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &Fleet{manager: m, store: store, log: log, cancel: cancel,
		status: make(chan *plugins.Status, 1), builds: make(chan *snapshot, 1), queue: make(chan *policy.Decision, QueueSize)}
	m.RegisterCompilerTrigger(func(txn storage.Transaction) {
		// Inside OPA's commit, which holds the store: copy, never build.
		if s := f.snapshot(loopCtx, txn); s != nil {
			offerLatest(f.builds, s)
		}
	})
	f.report(&plugins.Status{State: plugins.StateNotReady, Message: "no bundle activated yet: every message is refused"})
	f.loops.Add(3)
	go f.reportLoop(loopCtx)
	go f.buildLoop(loopCtx, onPolicy, onRefused)
	go f.sendLoop(loopCtx)
	d, err := discovery.New(m)
	if err == nil {
		m.Register(discovery.Name, d)
		err = m.Start(ctx)
	}
	if err != nil {
		f.stopLoops()
		return nil, fmt.Errorf("the OPA configuration: %w", err)
	}
	return f, nil
}

// offerLatest puts v in ch, a channel of one slot, replacing what is there
// and not yet taken: the taker only ever needs the latest.
func offerLatest[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
			select {
			case <-ch:
			default:
			}
		}
	}
}

// report queues isogate's status for the status plugin. The manager's
// status update waits for its listeners, so it is made by reportLoop.
func (f *Fleet) report(s *plugins.Status) { offerLatest(f.status, s) }

func (f *Fleet) reportLoop(ctx context.Context) {
	defer f.loops.Done()
	for {
		select {
		case s := <-f.status:
			f.manager.UpdatePluginStatus(StatusName, s)
		case <-ctx.Done():
			return
		}
	}
}

// buildLoop builds each activated bundle into a policy, outside OPA's
// commit, and hands it on; one whose content and revision are those of the
// last one tried (built or refused) is skipped (a server without ETags
// serves the same bundle on every poll), one with the same revision and
// other content is not.
func (f *Fleet) buildLoop(ctx context.Context, onPolicy func(*policy.Policy), onRefused func(error)) {
	defer f.loops.Done()
	serving := ""
	var last [sha256.Size]byte
	for {
		var s *snapshot
		select {
		case s = <-f.builds:
		case <-ctx.Done():
			return
		}
		if s.sum == last {
			continue
		}
		last = s.sum
		p, err := s.build(ctx)
		if err == nil {
			f.bundle.Store(&s.name)
			serving = p.Revision()
			onPolicy(p)
			f.report(&plugins.Status{State: plugins.StateOK, Message: "revision " + serving + " is deciding"})
			continue
		}
		onRefused(err)
		msg := err.Error() + "; "
		if serving == "" {
			msg += "no revision is deciding: every message is refused"
		} else {
			msg += "revision " + serving + " keeps deciding"
		}
		f.report(&plugins.Status{State: plugins.StateErr, Message: msg})
	}
}

// Stop hands the queued decisions to OPA's plugin and stops the plugins,
// flushing the decision logs they hold for up to 10 s (OPA's plugin
// flushes only under a deadline).
func (f *Fleet) Stop(ctx context.Context) {
	f.stopLoops()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	f.manager.Stop(ctx)
}

func (f *Fleet) stopLoops() {
	f.stopped.Store(true)
	f.cancel()
	f.loops.Wait()
}

// snapshot is a copy of the bundle OPA activated, taken inside its commit
// and built into a policy after it.
type snapshot struct {
	name, revision string
	modules        []bundle.ModuleFile
	data           []byte            // the bundle's data as JSON, without OPA's own "system"
	sum            [sha256.Size]byte // of all of the above
	err            error             // why it cannot be a policy at all
}

// snapshot copies the bundle activated in txn: its modules as OPA stored
// them and its data (with the files it carries, policy.BundleFiles). Nil
// when no bundle is activated.
func (f *Fleet) snapshot(ctx context.Context, txn storage.Transaction) *snapshot {
	names, err := bundle.ReadBundleNamesFromStore(ctx, f.store, txn)
	if err != nil || len(names) == 0 {
		return nil
	}
	s := &snapshot{name: names[0]}
	if len(names) > 1 {
		sort.Strings(names)
		s.name = strings.Join(names, ", ")
		s.err = fmt.Errorf("%d bundles are configured (%s); an isogate policy is one", len(names), s.name)
	} else if s.err = s.copy(ctx, f.store, txn); s.err != nil {
		s.err = fmt.Errorf("bundle %s: %w", s.name, s.err)
	}
	h := sha256.New()
	field := func(b []byte) {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
		h.Write(b)
	}
	field([]byte(s.name))
	field([]byte(s.revision))
	for _, m := range s.modules {
		field([]byte(m.Path))
		field(m.Raw)
	}
	field(s.data)
	if s.err != nil {
		field([]byte(s.err.Error()))
	}
	h.Sum(s.sum[:0])
	return s
}

func (s *snapshot) copy(ctx context.Context, store storage.Store, txn storage.Transaction) error {
	var err error
	if s.revision, err = bundle.ReadBundleRevisionFromStore(ctx, store, txn, s.name); err != nil {
		return err
	}
	ids, err := store.ListPolicies(ctx, txn)
	if err != nil {
		return err
	}
	sort.Strings(ids)
	for _, id := range ids {
		raw, err := store.GetPolicy(ctx, txn, id)
		if err != nil {
			return err
		}
		// OPA stores a bundle's module as "<bundle>/<path>".
		s.modules = append(s.modules, bundle.ModuleFile{Path: strings.TrimPrefix(strings.TrimPrefix(id, s.name), "/"), Raw: bytes.Clone(raw)})
	}
	data, err := store.Read(ctx, txn, storage.RootPath)
	if err != nil {
		return err
	}
	own := map[string]any{}
	if m, ok := data.(map[string]any); ok {
		for k, v := range m {
			if k != "system" { // OPA's own: the bundles' manifests
				own[k] = v
			}
		}
	}
	s.data, err = json.Marshal(own)
	return err
}

// buildStarts, when set (by tests), runs as each build starts.
var buildStarts func()

// build makes the policy of the snapshot.
func (s *snapshot) build(ctx context.Context) (*policy.Policy, error) {
	if buildStarts != nil {
		buildStarts()
	}
	if s.err != nil {
		return nil, s.err
	}
	b := &bundle.Bundle{Manifest: bundle.Manifest{Revision: s.revision}, Modules: s.modules}
	if err := util.UnmarshalJSON(s.data, &b.Data); err != nil {
		return nil, fmt.Errorf("bundle %s revision %q: %w", s.name, s.revision, err)
	}
	p, err := policy.LoadBundle(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("bundle %s revision %q: %w", s.name, s.revision, err)
	}
	return p, nil
}
