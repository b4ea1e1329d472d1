package fleet

import (
	"context"

	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/plugins/logs"
	"github.com/open-policy-agent/opa/v1/server"

	"github.com/isogate/isogate/policy"
)

// Log queues a decision for OPA's decision-log plugin, which gets it as an
// OPA decision event, for the decision-log service; it is a policy.Sink,
// and never waits: when QueueSize decisions are already waiting, this one
// is dropped and counted (Dropped), and the log says so. The plugin adds
// the install's labels, batches, gzips and uploads, and retries; with no
// decision_logs configured (discovery can configure it later) it does
// nothing. The input is the one in isogate's own line: masked by the
// policy's mask rules, withheld where it was withheld. The event's
// decision_id is the line's, so the two records can be joined.
func (f *Fleet) Log(_ context.Context, d *policy.Decision) {
	if f.stopped.Load() { // nobody will take it: counted as dropped
		f.drop()
		return
	}
	select {
	case f.queue <- d:
	default:
		f.drop()
	}
}

func (f *Fleet) drop() {
	// 1, 2, 4, 8, ...: a flood writes a few lines, not one per decision.
	if n := f.dropped.Add(1); n&(n-1) == 0 {
		f.log.Warn("decisions dropped before OPA's decision-log plugin: its queue is full or the fleet stopped", "dropped", n, "queue", cap(f.queue))
	}
}

// Dropped counts the decisions Log dropped: the queue was full, or the
// fleet stopped.
func (f *Fleet) Dropped() uint64 { return f.dropped.Load() }

// sendLoop hands the queued decisions to the plugin; when stopped, it
// hands over what is still queued first.
func (f *Fleet) sendLoop(ctx context.Context) {
	defer f.loops.Done()
	send := context.WithoutCancel(ctx)
	for {
		select {
		case d := <-f.queue:
			f.send(send, d)
		case <-ctx.Done():
			for {
				select {
				case d := <-f.queue:
					f.send(send, d)
				default:
					return
				}
			}
		}
	}
}

func (f *Fleet) send(ctx context.Context, d *policy.Decision) {
	p := logs.Lookup(f.manager)
	if p == nil {
		return
	}
	m := metrics.New()
	// OPA's metrics keep only their own timers; a counter shows in the
	// event as "counter_isogate_decision_latency_ns".
	m.Counter("isogate_decision_latency_ns").Add(uint64(max(d.LatencyNS, 0)))
	var input any = d.Input
	result := any(map[string]any{"allow": d.Result.Allow, "code": string(d.Result.Code), "reasons": d.Result.Reasons})
	custom := map[string]any{"session": d.Session, "window": d.Window, "kind": d.Kind, "name": d.Name, "seq": d.Seq}
	if d.Unsealed {
		custom["unsealed"] = true
		if d.Suppressed > 0 {
			custom["suppressed"] = d.Suppressed
		}
	}
	if d.DryRun {
		custom["dry_run"] = true
	}
	if len(d.Erased) > 0 {
		custom["erased"] = d.Erased
	}
	if len(d.Masked) > 0 {
		custom["masked"] = d.Masked
	}
	info := &server.Info{
		DecisionID: d.DecisionID, Path: "isogate", Timestamp: d.Time,
		Results: &result, Metrics: m, Custom: map[string]any{"isogate": custom},
	}
	if d.Input != nil {
		info.Input = &input
	}
	// A revision only where one decided: not before the first bundle, and
	// not for an unsealed request, refused before any policy saw it.
	if decided := d.Revision != "" && !d.Pending && !d.Unsealed; decided {
		info.Revision = d.Revision
		if name := f.bundle.Load(); name != nil {
			info.Bundles = map[string]server.BundleInfo{*name: {Revision: d.Revision}}
		}
	}
	// A read transaction of the plugins' store for the plugin's drop and
	// mask rules, as OPA's own server passes one: without it the plugin
	// opens its own while holding its query cache, and a bundle
	// activation, which holds the store while it asks for that cache,
	// deadlocks with it.
	txn, err := f.store.NewTransaction(ctx)
	if err != nil {
		f.log.Error("decision not handed to OPA's decision-log plugin", "decision_id", d.DecisionID, "err", err)
		return
	}
	defer f.store.Abort(ctx, txn)
	info.Txn = txn
	if err := p.Log(ctx, info); err != nil {
		f.log.Error("decision not handed to OPA's decision-log plugin", "decision_id", d.DecisionID, "err", err)
	}
}
