#!/usr/bin/env python3
"""Round trips of `ankideck unpack` judged by the official Anki backend.

Subcommands (each prints one JSON object):
  wild OUT_DIR
      Make a collection like decks found in the wild, with Anki's own API, and export
      it as OUT_DIR/wild.apkg (latest) and OUT_DIR/wild-legacy.apkg.
  compare ORIGINAL REBUILT WORKDIR [--verbose]
      Import ORIGINAL and REBUILT (`ankideck unpack ORIGINAL`, then `ankideck build`)
      into fresh collections and say what differs: notes by guid (fields after NFC,
      tags, note type name, each card's template and home deck), the used note types
      (fields, templates, CSS), media by SHA-1, decks (description, options). Then
      import REBUILT over ORIGINAL and say what that changed there (`reimport_changed`:
      it must add no card the original lacks), run Check Database on both, and say
      what then differs between them (`differ_after_check`: Check Database makes the
      cards a note lacks, in both alike).

Run with the Python the tests set up (target/anki-venv/current-*/bin/python).
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import os
import sys
import unicodedata
from typing import Any

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judge_common as jc  # noqa: E402

jc.private_tempdir()
from anki.collection import (  # noqa: E402
    Collection,
    ExportAnkiPackageOptions,
    ImportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)
from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Update  # noqa: E402

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def import_package(col: Collection, package: str) -> dict[str, int]:
    """Imports as Anki's import dialog does by default; the log's non-zero counts."""
    options = ImportAnkiPackageOptions(
        with_scheduling=True,
        with_deck_configs=True,
        update_notes=Update.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        update_notetypes=Update.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
    )
    request = ImportAnkiPackageRequest(package_path=os.path.abspath(package), options=options)
    log = col.import_anki_package(request).log
    return {c: len(getattr(log, c)) for c in jc.LOG_CATEGORIES if len(getattr(log, c))}


def unmarked(name: str) -> str:
    """A note type's name without the `+` or `_` Anki adds to a name taken as it imports,
    in an order that differs from one import to the next."""
    return name.rstrip("+_")


def snapshot(col: Collection) -> dict[str, dict[Any, Any]]:
    """What a person sees of the collection, keyed so that two imports compare."""
    types = {int(m["id"]): m for m in col.models.all()}
    notes = {}
    for nid, guid, mid, tags, fields in col.db.all("select id, guid, mid, tags, flds from notes"):
        rows = col.db.all("select ord, did, odid from cards where nid = ?", nid)
        notes[guid] = {
            "notetype": unmarked(types[mid]["name"]),
            "tags": sorted(tags.split()),
            "fields": [unicodedata.normalize("NFC", f) for f in fields.split("\x1f")],
            "cards": sorted([o, col.decks.name(odid or did)] for o, did, odid in rows),
        }
    used = {mid for (mid,) in col.db.all("select distinct mid from notes")}
    notetypes = {
        str(m["id"]): {
            "name": unmarked(m["name"]),
            "kind": m["type"],
            "css": m["css"],
            "fields": [f["name"] for f in m["flds"]],
            "templates": [[t["name"], t["qfmt"], t["afmt"]] for t in m["tmpls"]],
            "latex": [m.get("latexPre"), m.get("latexPost"), m.get("latexsvg")],
        }
        for m in types.values()
        if m["id"] in used
    }
    media = jc.media_files(col.media.dir())
    decks = {}
    for entry in col.decks.all_names_and_ids():
        deck = col.decks.get(entry.id)
        options = {} if deck.get("dyn") else dict(col.decks.config_dict_for_deck_id(entry.id))
        for key in ("id", "mod", "usn"):
            options.pop(key, None)
        decks[entry.name] = {"description": deck.get("desc", ""), "options": options}
    return {"notes": notes, "notetypes": notetypes, "media": media, "decks": decks}


def differences(a: dict, b: dict, verbose: bool) -> tuple[dict[str, int], list[str]]:
    """How many keys differ in each part, and with `verbose` a diff of the first ones."""
    counts, shown = {}, []
    for part in a:
        keys = sorted(set(a[part]) | set(b[part]), key=str)
        differ = [k for k in keys if a[part].get(k) != b[part].get(k)]
        if differ:
            counts[part] = len(differ)
        for key in differ[:3] if verbose else []:
            def lines(v: Any) -> list[str]:
                return json.dumps(v, ensure_ascii=False, indent=0, sort_keys=True).splitlines()

            diff = difflib.unified_diff(lines(a[part].get(key)), lines(b[part].get(key)), n=0)
            shown.append(f"{part} {key}: " + " | ".join(x[:160] for x in list(diff)[2:12]))
    return counts, shown


def cmd_compare(original: str, rebuilt: str, work: str, verbose: bool) -> dict[str, Any]:
    cols = []
    for name in ("original", "rebuilt"):
        os.makedirs(os.path.join(work, name), exist_ok=True)
        cols.append(Collection(os.path.join(work, name, "collection.anki2")))
    try:
        try:
            import_package(cols[0], original)
        except Exception as e:  # noqa: BLE001 - Anki refuses it: nothing to compare with
            return {"original_refused": str(e)}
        imported = import_package(cols[1], rebuilt)
        differ, shown = differences(snapshot(cols[0]), snapshot(cols[1]), verbose)
        before = snapshot(cols[0])
        reimport = import_package(cols[0], rebuilt)
        changed, changes = differences(before, snapshot(cols[0]), verbose)
        checks = [jc.plain(col.fix_integrity()[0]) for col in cols]
        after_check, _ = differences(snapshot(cols[0]), snapshot(cols[1]), False)
        return {"differ": differ, "shown": shown + changes, "imported": imported,
                "reimport": reimport, "reimport_changed": changed,
                "check_original": checks[0], "check_rebuilt": checks[1],
                "differ_after_check": after_check}
    finally:
        for col in cols:
            col.close()


def add_notetype(col: Collection, name: str, fields: list[str], templates: list[tuple],
                 css: str, **extra: Any) -> dict:
    mm = col.models
    m = mm.new(name)
    for field in fields:
        mm.add_field(m, mm.new_field(field))
    for tname, qfmt, afmt in templates:
        t = mm.new_template(tname)
        t["qfmt"], t["afmt"] = qfmt, afmt
        mm.add_template(m, t)
    m["css"] = css
    m.update(extra)
    mm.add(m)
    return mm.by_name(m["name"]) or m


def add(col: Collection, notetype: dict, fields: list[str], deck: str, tags=()) -> Any:
    note = col.new_note(notetype)
    for i, value in enumerate(fields):
        note.fields[i] = value
    note.tags = list(tags)
    col.add_note(note, col.decks.id(deck))
    return note


def fill_wild(col: Collection, scratch: str) -> None:
    """What shared decks hold that a made-up one does not."""
    mm = col.models
    # Image occlusion, with its image.
    col.add_image_occlusion_notetype()
    io = next(m for m in mm.all() if m.get("originalStockKind") == 6)
    image = os.path.join(scratch, "diagram.png")
    with open(image, "wb") as f:
        f.write(PNG)
    col.add_image_occlusion_note(
        notetype_id=io["id"], image_path=image, header="The heart", back_extra="", tags=["io"],
        occlusions="{{c1::image-occlusion:rect:left=.1:top=.1:width=.3:height=.2:oi=1}}",
    )
    # Hundreds of fields, dozens of templates, each card shown only when its field is set.
    names = [f"F{i:03}" for i in range(150)]
    huge = add_notetype(
        col, "Huge", names,
        [(f"T{i}", f"{{{{#F{i:03}}}}}{{{{F{i:03}}}}}{{{{/F{i:03}}}}}", "{{FrontSide}}<hr id=answer>{{F000}}")
         for i in range(40)],
        ".card { font-family: serif; }\n",
    )
    add(col, huge, [f"v{i}" if i % 7 == 0 else "" for i in range(150)], "Wild::Huge")
    # LaTeX preamble, a script, an `_` file in the CSS; Windows line ends in a field (in
    # templates and CSS, `unpack` turns them into `\n` and says so).
    col.media.write_data("_wild.css", b".card { color: navy; }\n")
    scripted = add_notetype(
        col, "Scripted", ["Front", "Back"],
        [("Card 1", "<script>\nvar x = 1;\n</script>\n{{Front}}\n\n", "{{FrontSide}}\n<hr id=answer>\n{{Back}}\n")],
        "@import url('_wild.css');\n.card { text-align: left; }\n",
        latexPre="\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n",
        latexPost="\\end{document}\n",
    )
    add(col, scripted, ["[$]x^2[/$] &nbsp;spaced&nbsp; ", "line<br>\r\nbreak <div>block</div>"], "Wild")
    # Two note types named alike (Anki renames the second as it adds it).
    other_basic = add_notetype(col, "Basic", ["Front", "Back"], [("Card 1", "{{Front}}", "{{Back}}")], "")
    add(col, other_basic, ["same name", "different type"], "Wild")
    # Cards Anki keeps after their fields stop making them.
    optional = mm.by_name("Basic (optional reversed card)")
    note = add(col, optional, ["stale", "reverse", "y"], "Wild::Stale")
    note.fields[2] = ""
    col.update_note(note)
    cloze = add(col, mm.by_name("Cloze"), ["{{c1::a}} {{c2::b}}", ""], "Wild::Stale")
    cloze.fields[0] = "{{c1::a}} b"
    col.update_note(cloze)
    # Cards the notes' fields make but the collection lacks: deleted in the browser
    # (an edit of the note, or Check Database, would make them again).
    reversed_ = add(col, mm.by_name("Basic (and reversed card)"), ["lacks", "its reverse"], "Wild::Lacking")
    lacking = add(col, mm.by_name("Cloze"), ["{{c1::a}} {{c2::b}} {{c3::c}}", ""], "Wild::Lacking")
    for nid, ord_ in ((reversed_.id, 1), (lacking.id, 0), (lacking.id, 2)):
        cid = col.db.scalar("select id from cards where nid = ? and ord = ?", nid, ord_)
        col.remove_cards_and_orphaned_notes([cid])
    # An empty first field, and an HTML deck description with its own options group.
    add(col, mm.by_name("Basic"), ["", "back only"], "Wild")
    deck = col.decks.by_name("Wild")
    deck["desc"] = "<h1>Wild</h1>\n<p>A deck <b>from</b> the wild.</p>\n"
    col.decks.save(deck)
    conf = col.decks.add_config_returning_id("Wild options")
    options = col.decks.get_config(conf)
    options["new"]["perDay"] = 7
    options["lapse"]["delays"] = [5.0, 30.0]
    options["lapse"]["leechAction"] = 0
    options["rev"]["bury"] = True
    options["maxTaken"] = 90
    col.decks.update_config(options)
    deck = col.decks.by_name("Wild")
    deck["conf"] = conf
    col.decks.save(deck)


def cmd_wild(out_dir: str) -> dict[str, Any]:
    os.makedirs(out_dir, exist_ok=True)
    scratch = os.path.join(out_dir, "collection")
    os.makedirs(scratch, exist_ok=True)
    col = Collection(os.path.join(scratch, "collection.anki2"))
    try:
        fill_wild(col, scratch)
        packages = {}
        for name, legacy in (("wild.apkg", False), ("wild-legacy.apkg", True)):
            path = os.path.join(out_dir, name)
            options = ExportAnkiPackageOptions(
                with_scheduling=False, with_deck_configs=True, with_media=True, legacy=legacy
            )
            col.export_anki_package(out_path=path, options=options, limit=None)
            packages[name] = path
        counts = jc.counts(col)
    finally:
        col.close()
    return {"packages": packages, **counts}


def main() -> dict[str, Any]:
    args = [a for a in sys.argv[1:] if a != "--verbose"]
    if args[:1] == ["wild"] and len(args) == 2:
        return cmd_wild(args[1])
    if args[:1] == ["compare"] and len(args) == 4:
        return cmd_compare(args[1], args[2], args[3], "--verbose" in sys.argv)
    jc.fail(__doc__ or "")


jc.run_main(main)
