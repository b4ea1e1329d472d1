package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/isogate/isogate/audit"
)

// followPoll is how often `isogate audit` looks for new lines.
const followPoll = 250 * time.Millisecond

// cmdAudit serves the audit page over a decision log file: the same page
// a running isogate's --audit serves, with what the log holds and, as it
// grows, what is appended (as tail -F follows it).
func cmdAudit(args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet("audit", flag.ContinueOnError)
	addr := fl.String("addr", "127.0.0.1:0", "the loopback address to serve on")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if err := positional("audit", pos, "DECISIONS.jsonl"); err != nil {
		return err
	}
	tail, err := audit.OpenTail(pos[0])
	if err != nil {
		return badf("audit: %v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	s := audit.New(log, nil)
	if err := tail.ReadTo(s); err != nil {
		tail.Close()
		return exitError{1, fmt.Sprintf("audit: %s: %v", pos[0], err)}
	}
	l, u, err := s.Listen(*addr)
	if err != nil {
		tail.Close()
		return badf("audit: %v", err)
	}
	fmt.Fprintln(stderr, "audit: "+u)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		defer tail.Close() // here: Follow may be replacing the file until it returns
		if err := tail.Follow(ctx, s, followPoll); err != nil {
			log.Error("audit: the decision log can no longer be read; the page keeps what it has", "file", pos[0], "err", err)
		}
	}()
	err = s.Serve(ctx, l)
	stop() // Follow ends with the context
	<-followed
	return err
}
