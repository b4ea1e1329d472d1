// Command isogate wraps a web app in isogate's isolation pattern. This
// package holds flags and wiring only; the work is in the packages.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/isogate/isogate/core"
)

const usage = `usage:
  isogate demo [--browser] [--port N] [--title T] [--width W] [--height H] [--decision-log FILE] [--dry-run]
               [--config OPA-CONFIG] [--audit ADDR]
  isogate run --app DIR|URL --policy DIR|--config OPA-CONFIG [--upstream URL | --upstream-cmd "CMD ARGS"] [--browser] [--port N]
              [--api PREFIX[=URL]]... [--tauri src-tauri/tauri.conf.json]
              [--title T] [--width W] [--height H] [--decision-log FILE] [--dry-run] [--audit ADDR] [limit flags]
  isogate policy check DIR|BUNDLE
  isogate policy test DIR|BUNDLE [-v] [--coverage [--threshold N]]
  isogate policy fmt [-w|-l|-d] DIR
  isogate policy lint DIR|BUNDLE [--format text|json|sarif]
  isogate policy replay --log DECISIONS.jsonl [--fail-on allow|change] [--examples N] [--format text|json] DIR|BUNDLE
  isogate policy eval DIR|BUNDLE --input FILE [--explain[=full|notes|fails]]
  isogate policy build DIR -o BUNDLE [--revision R] [--signing-key KEY [--signing-alg ALG] [--signing-key-id ID]]
  isogate audit DECISIONS.jsonl [--addr ADDR]
  isogate doctor [--json]
`

// usageError is bad input from the command line: one line, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func badf(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitError ends the command with a status and, if msg is set, one line.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func main() {
	core.TuneGC()
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "isogate: "+oneLine(ee.msg))
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "isogate: "+oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return badf("no command given")
	}
	switch args[0] {
	case "demo":
		return cmdDemo(args[1:], stdout, stderr)
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "policy":
		return cmdPolicy(args[1:], stdout)
	case "audit":
		return cmdAudit(args[1:], stderr)
	case "doctor":
		return cmdDoctor(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return badf("unknown command %q (want demo, run, policy, audit or doctor)", args[0])
}

// parse parses flags wherever they stand among the arguments and returns the
// positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, badf("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// positional demands exactly n positional arguments, named in what.
func positional(cmd string, pos []string, what ...string) error {
	if len(pos) < len(what) {
		return badf("%s: missing %s", cmd, what[len(pos)])
	}
	if len(pos) > len(what) {
		return badf("%s: unexpected argument %q", cmd, pos[len(what)])
	}
	return nil
}

func isDir(cmd, dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return badf("%s: %s: no such directory", cmd, dir)
	}
	if !st.IsDir() {
		return badf("%s: %s is not a directory", cmd, dir)
	}
	return nil
}
