#!/usr/bin/env python3
"""Write the benchmark's notes with genanki: the same notes ankideck builds.

Usage: genanki_build.py NOTES_JSON OUT_APKG

NOTES_JSON is written by examples/bench.rs from ankideck's reading of the generated
sources: note types (stock templates and CSS), notes with their rendered HTML fields,
guids, tags and decks, and the media files under their packaged names.
"""

import json
import sys

import genanki


def main() -> None:
    notes_json, out = sys.argv[1], sys.argv[2]
    with open(notes_json, encoding="utf-8") as f:
        data = json.load(f)
    models = {}
    for nt in data["notetypes"]:
        models[nt["id"]] = genanki.Model(
            nt["id"],
            nt["name"],
            fields=[{"name": name} for name in nt["fields"]],
            templates=[
                {"name": t["name"], "qfmt": t["qfmt"], "afmt": t["afmt"]} for t in nt["templates"]
            ],
            css=nt["css"],
            model_type=genanki.Model.CLOZE if nt["cloze"] else genanki.Model.FRONT_BACK,
            sort_field_index=nt["sortf"],
        )
    decks = {}
    for n in data["notes"]:
        deck = decks.get(n["deck"])
        if deck is None:
            deck = decks[n["deck"]] = genanki.Deck(n["deck_id"], n["deck"])
        deck.add_note(
            genanki.Note(model=models[n["notetype"]], fields=n["fields"], tags=n["tags"], guid=n["guid"])
        )
    genanki.Package(list(decks.values()), media_files=data["media"]).write_to_file(out)


if __name__ == "__main__":
    main()
