#!/usr/bin/env bash
# Checks that a change leaves every package byte-identical: builds the sample deck, the
# test decks and generated benchmark decks with two binaries, in both package formats,
# and compares the packages and the locks they write.
#
#   scripts/same-output.sh BASE_REV          # BASE_REV's binary against the work tree's
#   scripts/same-output.sh --base-bin PATH   # a binary built earlier against the work tree's
#
# Run it before committing a refactor; it prints one line per package and exits non-zero
# on the first difference.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ${1:-} == --base-bin ]]; then
    base_bin=$(realpath "$2")
else
    rev=${1:?usage: scripts/same-output.sh BASE_REV | --base-bin PATH}
    git worktree add --quiet --detach "$work/base-src" "$rev"
    trap 'git -C "$root" worktree remove --force "$work/base-src"; rm -rf "$work"' EXIT
    # The base shares this tree's target folder for its dependencies.
    (cd "$work/base-src" && CARGO_TARGET_DIR="$root/target/same-output-base" \
        cargo build --release --quiet --locked --bin ankideck)
    base_bin=$root/target/same-output-base/release/ankideck
fi
cargo build --release --quiet --locked --bin ankideck --example bench
target=$(realpath "${CARGO_TARGET_DIR:-target}")
new_bin=$target/release/ankideck

# Generated decks: one with media, one large enough to span several lock windows.
decks=(cards tests/decks/*)
"$target/release/examples/bench" generate --notes 1000 --media 20 --media-size 2M \
    --dir "$work/gen-1k" >/dev/null
"$target/release/examples/bench" generate --notes 40000 --dir "$work/gen-40k" >/dev/null
decks+=("$work/gen-1k" "$work/gen-40k")

export SOURCE_DATE_EPOCH=1700000000
for deck in "${decks[@]}"; do
    name=$(basename "$deck")
    for format in legacy latest; do
        # Both sides build in the same folder, so that messages naming paths compare.
        for side in base new; do
            bin=${side}_bin
            rm -rf "$work/deck" "$work/deck.apkg"
            cp -r "$deck" "$work/deck"
            status=0
            "${!bin}" build "$work/deck" -o "$work/deck.apkg" --format "$format" \
                >"$work/$side.stdout" 2>"$work/$side.stderr" || status=$?
            echo "$status" >"$work/$side.status"
            mv "$work/deck.apkg" "$work/$side.apkg" 2>/dev/null || : >"$work/$side.apkg"
            cp "$work/deck/ankideck.lock" "$work/$side.lock" 2>/dev/null || : >"$work/$side.lock"
        done
        for file in apkg lock status stderr; do
            if ! cmp -s "$work/base.$file" "$work/new.$file"; then
                echo "DIFFERENT: $name ($format): $file" >&2
                exit 1
            fi
        done
        echo "same: $name ($format), $(stat -c %s "$work/new.apkg") bytes"
    done
done
