#!/usr/bin/env bash
# contactctl benchmarks (README: "Performance and benchmarks").
#
#   bench/run.sh            all three
#   bench/run.sh calls      (1) API calls of plan and apply, 1k and 10k contacts, marker or not,
#                               against the minimum            (cargo bench --bench calls)
#   bench/run.sh scale      (2) validate and plan of 100,000 contacts (in YAML, and in a CSV sheet;
#                               with the marker, and without: one look-up per contact) against
#                               the in-process sandbox: wall time and peak memory
#                               (/usr/bin/time -v), release build
#   bench/run.sh limiter    (3) rate limiter throughput against its limit (cargo bench --bench limiter;
#                               LIMITER_BENCH_FULL=1 adds the real 60 s run, ~2 min)
#   bench/run.sh estimate   (4) a plan's estimated_seconds against the wall time of the apply that
#                               follows, at 40 calls a minute, 40 reads and 12 writes (~2.5 min,
#                               real clock; not part of "all")
#
# Environment: N (contacts for "scale", default 100000), WORK (scratch dir, default
# target/bench-scale), PER_PAGE (the sandbox's largest page for "scale", default 1000).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
WORK=${WORK:-target/bench-scale}
PER_PAGE=${PER_PAGE:-1000}
BIN=target/release/contactctl

need_time() {
  if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (for peak memory)..." >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq time >/dev/null; else sudo apt-get install -y -qq time >/dev/null; fi
  fi
}

# Generate the repo (a config directory: 00-base.yaml + 10-contacts.yaml), the same contacts as a
# CSV sheet (repo-csv: 00-base.yaml + 10-sources.yaml + contacts.csv), and a sandbox state
# in which every contact exists, carries the marker and matches the repo (plus an undeclared
# field and an unmanaged tag, as real contacts have).
generate() {
  mkdir -p "$WORK/repo"
  cat >"$WORK/repo/00-base.yaml" <<EOF
version: 1
channels:
  web:
    base_url: https://app.example.chat/api
    token_env: CONTACTS_WEB_TOKEN
    rate_limit: 1000000          # the sandbox serves the config's limit: no waiting here
fields:
  email: { type: email }
  firstName: { type: text }
  lastName: { type: text }
  phone: { type: phone }
  vip: { type: boolean }
  customerid: { type: number }
tags: [Blog Updates, Platform Updates, VIP]
defaults:
  channel: web
  key: email
  marker: { field: managed_by, value: git }
EOF
  awk -v n="$N" 'BEGIN {
    print "contacts:"
    for (i = 0; i < n; i++) {
      printf "  - fields: { email: user%d@example.com, firstName: User%d, lastName: Bench, phone: \"+34 600 %06d\", vip: %s, customerid: %d }\n", i, i, i, (i % 2 ? "true" : "false"), i
      printf "    tags: [%s]\n", (i % 3 ? "VIP" : "Blog Updates, VIP")
    }
  }' >"$WORK/repo/10-contacts.yaml"
  # The same repo without the marker (repo-unmarked): plan looks each contact up by its key, one
  # call each, instead of paging the marked ones (the same contacts file, linked).
  mkdir -p "$WORK/repo-unmarked"
  grep -v 'marker:' "$WORK/repo/00-base.yaml" >"$WORK/repo-unmarked/00-base.yaml"
  ln -sf ../repo/10-contacts.yaml "$WORK/repo-unmarked/10-contacts.yaml"
  # The same contacts as a CSV sheet read by `sources:` (repo-csv: the same base, no YAML contacts).
  mkdir -p "$WORK/repo-csv"
  cp "$WORK/repo/00-base.yaml" "$WORK/repo-csv/00-base.yaml"
  printf 'sources:\n  - csv: contacts.csv\n    tags_column: Tags\n' >"$WORK/repo-csv/10-sources.yaml"
  awk -v n="$N" 'BEGIN {
    print "email,firstName,lastName,phone,vip,customerid,Tags"
    for (i = 0; i < n; i++) {
      printf "user%d@example.com,User%d,Bench,+34 600 %06d,%s,%d,%s\n", i, i, i, (i % 2 ? "true" : "false"), i, (i % 3 ? "VIP" : "Blog Updates; VIP")
    }
  }' >"$WORK/repo-csv/contacts.csv"
  # The same state as JSON (what a program writes; the sandbox reads it with a JSON parser) and
  # as YAML (what a person writes; ~10 times slower to parse).
  awk -v n="$N" -v pp="$PER_PAGE" 'BEGIN {
    printf "{\"channels\": {\"web\": {\"rate_limit\": 1000000, \"max_per_page\": %d, \"contacts\": [\n", pp
    for (i = 0; i < n; i++) {
      printf "{\"id\": \"%d\", \"custom_fields\": {\"email\": \"user%d@example.com\", \"firstName\": \"User%d\", \"lastName\": \"Bench\", \"phone\": \"+34 600 %06d\", \"vip\": \"%s\", \"customerid\": \"%d\", \"locale\": \"en_GB\", \"managed_by\": \"git\"}, \"tags\": [%s]}%s\n", 1000000000 + i, i, i, i, (i % 2 ? "TRUE" : "FALSE"), i, (i % 3 ? "\"VIP\", \"Newsletter\"" : "\"Blog Updates\", \"VIP\""), (i < n - 1 ? "," : "")
    }
    print "]}}}"
  }' >"$WORK/state.json"
  awk -v n="$N" -v pp="$PER_PAGE" 'BEGIN {
    print "channels:"
    print "  web:"
    print "    rate_limit: 1000000"
    printf "    max_per_page: %d\n", pp
    print "    contacts:"
    for (i = 0; i < n; i++) {
      printf "      - { id: \"%d\", custom_fields: { email: user%d@example.com, firstName: User%d, lastName: Bench, phone: \"+34 600 %06d\", vip: \"%s\", customerid: \"%d\", locale: en_GB, managed_by: git }, tags: [%s] }\n", 1000000000 + i, i, i, i, (i % 2 ? "TRUE" : "FALSE"), i, (i % 3 ? "VIP, Newsletter" : "Blog Updates, VIP")
    }
  }' >"$WORK/state.yaml"
}

# Run a command under /usr/bin/time -v; print "| name | wall | peak RSS |" and the exit code.
measure() {
  local name=$1
  shift
  local code=0
  /usr/bin/time -v "$@" >"$WORK/stdout" 2>"$WORK/time.txt" || code=$?
  local wall rss
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
  printf '| %s | %s | %d MiB | %s |\n' "$name" "$wall" $((rss / 1024)) "$code"
}

scale() {
  need_time
  cargo build --release --bin contactctl
  echo "generating $N contacts in $WORK ..." >&2
  generate
  echo
  echo "$N contacts: repo $(du -sh "$WORK/repo" | cut -f1), sandbox state $(du -sh "$WORK/state.json" | cut -f1) (JSON); $(nproc) cores"
  echo
  echo "| command | wall (m:ss) | peak RSS | exit |"
  echo "|---|---:|---:|---:|"
  measure "validate" "$BIN" validate "$WORK/repo"
  measure "validate, the contacts in a CSV sheet" "$BIN" validate "$WORK/repo-csv"
  measure "plan --sandbox (text), JSON state" "$BIN" plan "$WORK/repo" --sandbox --sandbox-state "$WORK/state.json" --detailed-exitcode
  tail -n 2 "$WORK/stdout" | sed 's/^/    /' >&2
  measure "plan --sandbox --format json, JSON state" "$BIN" plan "$WORK/repo" --sandbox --sandbox-state "$WORK/state.json" --format json
  measure "plan --sandbox (text), JSON state, contacts in a CSV sheet" "$BIN" plan "$WORK/repo-csv" --sandbox --sandbox-state "$WORK/state.json" --detailed-exitcode
  tail -n 2 "$WORK/stdout" | sed 's/^/    /' >&2
  measure "plan --sandbox (text), JSON state, no marker (a look-up per contact)" "$BIN" plan "$WORK/repo-unmarked" --sandbox --sandbox-state "$WORK/state.json" --detailed-exitcode
  tail -n 2 "$WORK/stdout" | sed 's/^/    /' >&2
  measure "plan --sandbox (text), YAML state" "$BIN" plan "$WORK/repo" --sandbox --sandbox-state "$WORK/state.yaml"
  measure "plan --sandbox --out plan.json" "$BIN" plan "$WORK/repo" --sandbox --sandbox-state "$WORK/state.json" --out "$WORK/plan.json"
  measure "apply --sandbox --plan plan.json" "$BIN" apply "$WORK/repo" --sandbox --sandbox-state "$WORK/state.json" --plan "$WORK/plan.json"
  scoped
  measure "plan --sandbox --changed-since HEAD (10 contacts changed), JSON state" "$BIN" plan "$WORK/git/repo" --sandbox --sandbox-state "$WORK/state.json" --changed-since HEAD --detailed-exitcode
  tail -n 3 "$WORK/stdout" | sed 's/^/    /' >&2
  measure "plan --sandbox --base (the same, BASE a directory), JSON state" "$BIN" plan "$WORK/git/repo" --sandbox --sandbox-state "$WORK/state.json" --base "$WORK/repo" --detailed-exitcode
  external
}

# The repo in a git repository (committed as it is applied), then 10 contacts renamed.
scoped() {
  rm -rf "$WORK/git"
  mkdir -p "$WORK/git"
  cp -r "$WORK/repo" "$WORK/git/repo"
  git -C "$WORK/git" init -q
  git -C "$WORK/git" add -A
  git -C "$WORK/git" -c user.email=bench@example.com -c user.name=bench commit -q -m applied
  sed -i -E 's/firstName: User(1[0-9])000,/firstName: Renamed\1000,/' "$WORK/git/repo/10-contacts.yaml"
}

# plan alone: the sandbox in a process of its own, so its memory and CPU are not counted.
external() {
  start_sandbox "$WORK/state.json"
  local pid=$SANDBOX_PID url=$SANDBOX_URL
  mkdir -p "$WORK/repo-ext"
  sed "s|base_url: .*|base_url: $url|" "$WORK/repo/00-base.yaml" >"$WORK/repo-ext/00-base.yaml"
  cp "$WORK/repo/10-contacts.yaml" "$WORK/repo-ext/10-contacts.yaml"
  CONTACTS_WEB_TOKEN=sandbox-web-token measure "plan, sandbox in another process" "$BIN" plan "$WORK/repo-ext" --detailed-exitcode
  # the same change-scoped, in a git repository of its own
  rm -rf "$WORK/git-ext" && mkdir -p "$WORK/git-ext" && cp -r "$WORK/repo-ext" "$WORK/git-ext/repo"
  git -C "$WORK/git-ext" init -q && git -C "$WORK/git-ext" add -A
  git -C "$WORK/git-ext" -c user.email=bench@example.com -c user.name=bench commit -q -m applied
  sed -i -E 's/firstName: User(1[0-9])000,/firstName: Renamed\1000,/' "$WORK/git-ext/repo/10-contacts.yaml"
  CONTACTS_WEB_TOKEN=sandbox-web-token measure "plan --changed-since HEAD (10 changed), sandbox in another process" "$BIN" plan "$WORK/git-ext/repo" --changed-since HEAD --detailed-exitcode
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Start `contactctl sandbox --state STATE` on a free port; sets SANDBOX_PID and SANDBOX_URL.
start_sandbox() {
  "$BIN" sandbox --state "$1" --port 0 >"$WORK/sandbox.out" 2>&1 &
  SANDBOX_PID=$!
  SANDBOX_URL=""
  for _ in $(seq 1 300); do
    SANDBOX_URL=$(sed -n 's/.*serving the Contacts API at //p' "$WORK/sandbox.out")
    [ -n "$SANDBOX_URL" ] && return 0
    sleep 0.1
  done
  echo "the sandbox did not start: $(cat "$WORK/sandbox.out")" >&2
  return 1
}

# A plan's estimated_seconds against the wall time of the apply that follows it, on a channel at
# 40 calls a minute (the sandbox enforcing it too): 40 contacts, 12 of them renamed on the
# platform, no marker, so the plan reads 40 and apply writes 12. The apply starts 61 s after the
# plan (as after a merge), when the plan's reads have left the platform's window.
estimate() {
  cargo build --release --bin contactctl
  local dir="$WORK/estimate"
  mkdir -p "$dir"
  awk 'BEGIN {
    print "channels:"
    print "  web:"
    print "    rate_limit: 40"
    print "    contacts:"
    for (i = 0; i < 40; i++) {
      printf "      - { id: \"%d\", custom_fields: { email: e%d@estimate.example, firstName: %s } }\n", 7000 + i, i, (i < 12 ? "Old" : "Same")
    }
  }' >"$dir/state.yaml"
  start_sandbox "$dir/state.yaml"
  {
    printf 'version: 1\nchannels:\n  web: { base_url: %s, token_env: CONTACTS_WEB_TOKEN, rate_limit: 40 }\n' "$SANDBOX_URL"
    printf 'fields:\n  email: { type: email }\n  firstName: { type: text }\ndefaults: { channel: web, key: email }\n'
    printf 'safety: { max_change_percent: 100 }\ncontacts:\n'
    for i in $(seq 0 39); do printf '  - fields: { email: e%d@estimate.example, firstName: Same }\n' "$i"; done
  } >"$dir/contactctl.yaml"
  export CONTACTS_WEB_TOKEN=sandbox-web-token
  "$BIN" plan "$dir/contactctl.yaml" --format json >"$dir/plan.json"
  local estimate reads writes
  estimate=$(sed -n 's/.*"estimated_seconds": \([0-9]*\).*/\1/p' "$dir/plan.json" | head -n 1)
  reads=$(sed -n 's/.*"reads": \([0-9]*\).*/\1/p' "$dir/plan.json" | head -n 1)
  writes=$(sed -n 's/.*"api_calls": \([0-9]*\).*/\1/p' "$dir/plan.json" | head -n 1)
  echo "plan: $reads reads, $writes writes, estimated_seconds $estimate; waiting 61 s for the window..." >&2
  sleep 61
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" apply "$dir/contactctl.yaml" --auto-approve >"$dir/apply.txt"
  t1=$(date +%s.%N)
  kill "$SANDBOX_PID" 2>/dev/null || true
  wait "$SANDBOX_PID" 2>/dev/null || true
  echo
  echo "| rate | reads | writes | estimated_seconds | apply wall | difference |"
  echo "|---:|---:|---:|---:|---:|---:|"
  awk -v e="$estimate" -v a="$t0" -v b="$t1" -v r="$reads" -v w="$writes" \
    'BEGIN { printf "| 40/min | %d | %d | %d s | %.1f s | %+.1f s |\n", r, w, e, b - a, (b - a) - e }'
}

case "${1:-all}" in
  calls) cargo bench --bench calls ;;
  scale) scale ;;
  limiter) cargo bench --bench limiter ;;
  estimate) estimate ;;
  all)
    cargo bench --bench calls
    scale
    cargo bench --bench limiter
    ;;
  *)
    echo "usage: bench/run.sh [calls|scale|limiter|estimate|all]" >&2
    exit 1
    ;;
esac
