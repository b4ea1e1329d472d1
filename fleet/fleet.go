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
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/plugins/discovery"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/isogate/isogate/policy"
)

// Fleet is one running set of OPA plugins.
type Fleet struct {
	manager *plugins.Manager
	store   storage.Store
	log     *slog.Logger
	bundle  atomic.Pointer[string] // the configured bundle's name, once one activated
	status  chan *plugins.Status   // isogate's own status for the status plugin; the latest wins
}

// StatusName is the name isogate's own status has in OPA's status reports
// (under "plugins"): OK with the revision deciding, or ERROR when the last
// bundle OPA activated was refused by isogate, saying why and which
// revision keeps deciding.
const StatusName = "isogate"

// Start hands config (OPA's configuration file, JSON or YAML) to OPA's
// plugin manager and starts its plugins. Each bundle the bundle plugin
// activates is built into a policy: onPolicy gets it, or onRefused why
// not. id names this install to the services (OPA's instance id).
func Start(ctx context.Context, config []byte, id string, log *slog.Logger, onPolicy func(*policy.Policy), onRefused func(error)) (*Fleet, error) {
	store := inmem.New()
	lg := newOPALogger(log)
	m, err := plugins.New(config, id, store, plugins.Logger(lg), plugins.ConsoleLogger(lg))
	if err != nil {
		return nil, fmt.Errorf("the OPA configuration: %w", err)
	}
	f := &Fleet{manager: m, store: store, log: log, status: make(chan *plugins.Status, 1)}
	serving := ""
	m.RegisterCompilerTrigger(func(txn storage.Transaction) {
		p, err := f.build(ctx, txn)
		switch {
		case err == nil:
			serving = p.Revision()
			onPolicy(p)
			f.report(&plugins.Status{State: plugins.StateOK, Message: "revision " + serving + " is deciding"})
		case !errors.Is(err, errNoBundle):
			onRefused(err)
			msg := err.Error() + "; "
			if serving == "" {
				msg += "no revision is deciding: every message is refused"
			} else {
				msg += "revision " + serving + " keeps deciding"
			}
			f.report(&plugins.Status{State: plugins.StateErr, Message: msg})
		}
	})
	f.report(&plugins.Status{State: plugins.StateNotReady, Message: "no bundle activated yet: every message is refused"})
	go f.reportLoop(ctx)
	d, err := discovery.New(m)
	if err != nil {
		return nil, fmt.Errorf("the OPA configuration: %w", err)
	}
	m.Register(discovery.Name, d)
	if err := m.Start(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// report queues isogate's status for the status plugin, replacing one not
// yet handed over. The manager's status update waits for its listeners, so
// it is made off the bundle plugin's activation, by reportLoop.
func (f *Fleet) report(s *plugins.Status) {
	for {
		select {
		case f.status <- s:
			return
		default:
			select {
			case <-f.status:
			default:
			}
		}
	}
}

func (f *Fleet) reportLoop(ctx context.Context) {
	for {
		select {
		case s := <-f.status:
			f.manager.UpdatePluginStatus(StatusName, s)
		case <-ctx.Done():
			return
		}
	}
}

// Stop stops the plugins, flushing the decision logs they hold for up to
// 10 s (OPA's plugin flushes only under a deadline).
func (f *Fleet) Stop(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	f.manager.Stop(ctx)
}

var errNoBundle = errors.New("no bundle activated")

// build makes the policy of the bundle activated in txn: its modules as
// OPA stored them, its data, and the files it carries (policy.BundleFiles).
func (f *Fleet) build(ctx context.Context, txn storage.Transaction) (*policy.Policy, error) {
	names, err := bundle.ReadBundleNamesFromStore(ctx, f.store, txn)
	if err != nil || len(names) == 0 {
		return nil, errNoBundle
	}
	if len(names) > 1 {
		return nil, fmt.Errorf("%d bundles are configured (%s); an isogate policy is one", len(names), strings.Join(names, ", "))
	}
	revision, err := bundle.ReadBundleRevisionFromStore(ctx, f.store, txn, names[0])
	if err != nil {
		return nil, err
	}
	f.bundle.Store(&names[0])
	b := &bundle.Bundle{Manifest: bundle.Manifest{Revision: revision}}
	ids, err := f.store.ListPolicies(ctx, txn)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		raw, err := f.store.GetPolicy(ctx, txn, id)
		if err != nil {
			return nil, err
		}
		// OPA stores a bundle's module as "<bundle>/<path>".
		b.Modules = append(b.Modules, bundle.ModuleFile{Path: strings.TrimPrefix(strings.TrimPrefix(id, names[0]), "/"), Raw: raw})
	}
	data, err := f.store.Read(ctx, txn, storage.RootPath)
	if err != nil {
		return nil, err
	}
	if m, ok := data.(map[string]any); ok {
		b.Data = map[string]any{}
		for k, v := range m {
			if k != "system" { // OPA's own: the bundles' manifests
				b.Data[k] = v
			}
		}
	}
	p, err := policy.LoadBundle(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("bundle %s revision %q: %w", names[0], revision, err)
	}
	return p, nil
}
