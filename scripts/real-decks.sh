#!/usr/bin/env bash
# Unpacks every .apkg/.colpkg in DIR with ankideck, builds the result, and prints a table
# of what each step counted: a check on real shared decks that the test suite does not
# hold (they are not ours to commit). When the tests' Python environment exists
# (target/anki-venv), each round trip is also judged by the official Anki
# (tests/anki/round_trip.py compare; VERBOSE=1 shows the first differences).
# Usage: scripts/real-decks.sh DIR [ANKIDECK]
set -uo pipefail
dir=${1:?usage: scripts/real-decks.sh DIR [ANKIDECK]}
bin=${2:-$(dirname "$0")/../target/debug/ankideck}
out=$(mktemp -d)
python=$(ls "$(dirname "$0")"/../target/anki-venv/current-*/bin/python 2>/dev/null | head -1)
trap 'rm -rf "$out"' EXIT
printf '%-42s %-60s %s\n' package unpack build
for package in "$dir"/*.apkg "$dir"/*.colpkg; do
    [ -e "$package" ] || continue
    name=$(basename "$package")
    unpacked=$("$bin" unpack "$package" -o "$out/$name" 2>&1 | grep -o '^unpacked .*' | sed 's/.*: //') \
        || unpacked="FAILED"
    built=$("$bin" build "$out/$name" -o "$out/$name.apkg" 2>&1 | grep -o 'wrote .*' | sed 's/^wrote [^:]*: //') \
        || built="FAILED"
    printf '%-42s %-60s %s\n' "$name" "${unpacked:-FAILED}" "${built:-FAILED}"
    if [ -n "$python" ] && [ -f "$out/$name.apkg" ]; then
        "$python" "$(dirname "$0")/../tests/anki/round_trip.py" compare "$package" "$out/$name.apkg" \
            "$out/$name.judge" ${VERBOSE:+--verbose} 2>&1 | sed 's/^/    /'
    fi
done
