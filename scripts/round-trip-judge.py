#!/usr/bin/env python3
"""Judges one round trip with the official Anki backend: ORIGINAL (any package) against
REBUILT (`ankideck unpack ORIGINAL` then `ankideck build`). Prints one line of what
differs between fresh collections importing each (notes by guid with fields after NFC,
tags and cards' home decks; used note types' fields, templates and CSS; media by SHA-1;
decks' descriptions and options), then what re-importing REBUILT over ORIGINAL did and
what Check Database said; with --verbose, a diff of the first differences.

Run it with the Python the tests set up: target/anki-venv/current-*/bin/python.
Usage: round-trip-judge.py ORIGINAL REBUILT WORKDIR [--verbose]
"""
import difflib
import hashlib
import json
import os
import sys
import unicodedata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "anki"))
import judge_common as jc  # noqa: E402

jc.private_tempdir()
from anki.collection import (  # noqa: E402
    Collection,
    ImportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)
from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Update  # noqa: E402


def import_package(col, package):
    """Imports as Anki's import dialog does by default; the log's counts by category."""
    options = ImportAnkiPackageOptions(
        with_scheduling=True,
        with_deck_configs=True,
        update_notes=Update.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        update_notetypes=Update.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
    )
    request = ImportAnkiPackageRequest(package_path=os.path.abspath(package), options=options)
    log = col.import_anki_package(request).log
    return {c: len(getattr(log, c)) for c in jc.LOG_CATEGORIES if len(getattr(log, c))}


def snapshot(col):
    """What a person sees of the collection, keyed so that two imports compare."""
    types = {int(m["id"]): m for m in col.models.all()}
    notes = {}
    for nid, guid, mid, tags, fields in col.db.all("select id, guid, mid, tags, flds from notes"):
        rows = col.db.all("select ord, did, odid from cards where nid = ?", nid)
        notes[guid] = {
            "notetype": types[mid]["name"],
            "tags": sorted(tags.split()),
            "fields": [unicodedata.normalize("NFC", f) for f in fields.split("\x1f")],
            "cards": sorted((o, col.decks.name(odid or did)) for o, did, odid in rows),
        }
    used = {mid for (mid,) in col.db.all("select distinct mid from notes")}
    notetypes = {
        m["id"]: {
            "name": m["name"],
            "kind": m["type"],
            "css": m["css"],
            "fields": [f["name"] for f in m["flds"]],
            "templates": [[t["name"], t["qfmt"], t["afmt"]] for t in m["tmpls"]],
        }
        for m in types.values()
        if m["id"] in used
    }
    media_dir = col.media.dir()
    media = {}
    for name in os.listdir(media_dir):
        with open(os.path.join(media_dir, name), "rb") as f:
            media[name] = hashlib.sha1(f.read()).hexdigest()
    decks = {}
    for entry in col.decks.all_names_and_ids():
        deck = col.decks.get(entry.id)
        options = {} if deck.get("dyn") else dict(col.decks.config_dict_for_deck_id(entry.id))
        for key in ("id", "mod", "usn"):
            options.pop(key, None)
        decks[entry.name] = {"description": deck.get("desc", ""), "options": options}
    return {"notes": notes, "notetypes": notetypes, "media": media, "decks": decks}


def differences(a, b, verbose):
    out, shown = {}, []
    for what in a:
        keys = sorted(set(a[what]) | set(b[what]), key=str)
        differ = [k for k in keys if a[what].get(k) != b[what].get(k)]
        if differ:
            out[what] = len(differ)
            for key in differ[:3] if verbose else []:
                dump = lambda v: json.dumps(v, ensure_ascii=False, indent=0).splitlines()  # noqa: E731
                diff = difflib.unified_diff(dump(a[what].get(key)), dump(b[what].get(key)), lineterm="", n=0)
                shown.append(f"{what} {key}:\n  " + "\n  ".join(line[:200] for line in list(diff)[2:14]))
    return out, shown


def main():
    args = [a for a in sys.argv[1:] if a != "--verbose"]
    original, rebuilt, work = args
    cols = []
    for name in ("original", "rebuilt"):
        os.makedirs(os.path.join(work, name), exist_ok=True)
        cols.append(Collection(os.path.join(work, name, "collection.anki2")))
    try:
        import_package(cols[0], original)
    except Exception as e:  # Anki refuses the original: nothing to compare against
        print(f"Anki cannot import the original: {e}")
        return
    import_package(cols[1], rebuilt)
    differ, shown = differences(snapshot(cols[0]), snapshot(cols[1]), "--verbose" in sys.argv)
    reimport = import_package(cols[0], rebuilt)
    check = jc.plain(cols[0].fix_integrity()[0]).replace("\n", " ")
    for col in cols:
        col.close()
    print(f"differ: {differ or 'nothing'}; re-import: {reimport}; check: {check}")
    for text in shown:
        print(text)


main()
