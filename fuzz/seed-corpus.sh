#!/usr/bin/env bash
# Seeds each fuzz target's corpus (fuzz/corpus/TARGET/) from the sample deck and the test
# decks, so that the fuzzer starts from real input instead of empty strings. The corpus
# is not committed: run this first, then `cargo fuzz run TARGET`. Packages in DIR (the
# optional argument: real decks downloaded by hand) seed the package reader too.
set -euo pipefail
cd "$(dirname "$0")"
root=..
corpus=corpus
rm -rf "$corpus"
mkdir -p "$corpus"/{card_file,text_file,notetype,deck_toml,lock,package_reader}

seed() { # seed TARGET < bytes: named by content, as libFuzzer names its own
    local tmp
    tmp=$(mktemp)
    cat > "$tmp"
    mv "$tmp" "$corpus/$1/$(sha1sum < "$tmp" | cut -c1-40)"
}

decks=("$root/cards" "$root"/tests/decks/*)
while IFS= read -r -d '' f; do seed card_file < "$f"; done \
    < <(find "${decks[@]}" -name '*.md' -print0)

# The text_file target takes one byte that picks the extension, then the file.
while IFS= read -r -d '' f; do
    case "$f" in *.csv) pick='\x00' ;; *.tsv) pick='\x01' ;; *) pick='\x02' ;; esac
    { printf "$pick"; cat "$f"; } | seed text_file
done < <(find "${decks[@]}" \( -name '*.csv' -o -name '*.tsv' -o -name '*.txt' \) -print0)

# notetype: notetype.toml, front, back, style.css and a card file, cut at NUL bytes.
while IFS= read -r -d '' toml; do
    dir=$(dirname "$toml")
    front=$(find "$dir" -name '*.front.html' | sort | head -n 1)
    back=${front%.front.html}.back.html
    {
        cat "$toml"; printf '\0'; cat "$front"; printf '\0'; cat "$back"; printf '\0'
        cat "$dir/style.css" 2>/dev/null || true; printf '\0'
        printf '## A question\n\nAn answer.\n'
    } | seed notetype
done < <(find "${decks[@]}" -name notetype.toml -print0)

while IFS= read -r -d '' f; do seed deck_toml < "$f"; done \
    < <(find "${decks[@]}" -name _deck.toml -print0)

while IFS= read -r -d '' f; do seed lock < "$f"; done \
    < <(find "${decks[@]}" -name ankideck.lock -print0)

# The examples of docs/FORMAT.md, by the file each one is.
python3 - "$root/docs/FORMAT.md" "$corpus" <<'PY'
import hashlib, pathlib, re, sys
text = pathlib.Path(sys.argv[1]).read_text()
corpus = pathlib.Path(sys.argv[2])
block = re.compile(r"^(`{3,})(\w+)([^\n]*)\n(.*?)^\1\s*$", re.M | re.S)
for m in block.finditer(text):
    name = re.search(r'file=("[^"]*"|\S+)', m.group(3))
    if not name:
        continue
    name, body = name.group(1).strip('"'), m.group(4).encode()
    if name.endswith("_deck.toml"):
        target = "deck_toml"
    elif name.endswith("notetype.toml"):
        target = "notetype"
    elif name.lower().endswith((".csv", ".tsv", ".txt")):
        target, body = "text_file", bytes([".csv.tsv.txt".index(name.lower()[-4:]) // 4]) + body
    elif name.endswith(".md"):
        target = "card_file"
    else:
        continue
    (corpus / target / hashlib.sha1(body).hexdigest()).write_bytes(body)
PY

# package_reader: packages built from the test decks in both formats.
cargo build --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/ankideck"
for deck in "${decks[@]}"; do
    for format in legacy latest; do
        out=$(mktemp -d)
        cp -r "$deck" "$out/src"
        "$bin" build "$out/src" -o "$out/p.apkg" --format "$format" >/dev/null
        seed package_reader < "$out/p.apkg"
        rm -rf "$out"
    done
done
for package in "${1:-/nonexistent}"/*.apkg "${1:-/nonexistent}"/*.colpkg; do
    [ -e "$package" ] && seed package_reader < "$package"
done
for t in "$corpus"/*; do echo "$t: $(ls "$t" | wc -l) inputs"; done
