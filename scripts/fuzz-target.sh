#!/usr/bin/env bash
# fuzz-target.sh PKG TARGET FUZZTIME: go test -fuzz for one target.
#
# A finding fails: a crasher written to PKG/testdata/fuzz/TARGET, or any
# failure other than the one below. Go 1.26's fuzz coordinator has a race at
# the end of a duration -fuzztime (go.dev/issue/75804, fixed in Go 1.27): a
# worker's cancellation escapes its filter and the run fails with a bare
# "context deadline exceeded", no input, nothing reproducible. That one case
# is told apart exactly (no new file in the target's corpus, that line and
# nothing else under the FAIL) and then the target's whole corpus is replayed;
# only if the replay passes is it reported as the known race and not failed.
set -uo pipefail
pkg=$1 target=$2 fuzztime=$3
go=${GO:-go}
corpus="$pkg/testdata/fuzz/$target"
before=$(ls "$corpus" 2>/dev/null | sort)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$go" test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && exit 0
after=$(ls "$corpus" 2>/dev/null | sort)
if [ "$before" != "$after" ]; then
  echo "fuzz: $target wrote a failing input to $corpus" >&2
  exit 1
fi
# The lines between "--- FAIL: TARGET" and "FAIL" must be exactly the race's.
report=$(sed -n "/^--- FAIL: $target /,/^FAIL\$/p" "$out" | sed '1d;$d' | sed 's/^[[:space:]]*//')
if [ "$report" != "context deadline exceeded" ]; then
  exit "$rc"
fi
echo "fuzz: $target ended with Go's fuzztime race (go.dev/issue/75804); replaying its corpus" >&2
"$go" test -count=1 -run "^$target\$" "$pkg" || exit 1
echo "fuzz: $target corpus replays clean; the failure was the coordinator's, not an input's" >&2
