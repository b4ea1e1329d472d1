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

	"github.com/isogate/isogate/audit"
)

// cmdAudit serves the audit page over a decision log file: the same page
// a running isogate's --audit serves, with what the log holds.
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
	f, err := os.Open(pos[0])
	if err != nil {
		return badf("audit: %v", err)
	}
	defer f.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	s := audit.New(log, nil)
	if err := s.ReadLog(f); err != nil {
		return exitError{1, fmt.Sprintf("audit: %s: %v", pos[0], err)}
	}
	l, u, err := s.Listen(*addr)
	if err != nil {
		return badf("audit: %v", err)
	}
	fmt.Fprintln(stderr, "audit: "+u)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return s.Serve(ctx, l)
}
