"""Helpers shared by judge.py (current anki) and judge_legacy.py (anki 2.1.49).

Only APIs present in both versions are used here, so that both judges print
the same JSON shape for the same collection.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import traceback
from typing import Any, Callable, NoReturn

# Note-id categories of the current importer's log, in the order Anki lists them.
LOG_CATEGORIES = (
    "new",
    "updated",
    "duplicate",
    "conflicting",
    "first_field_match",
    "missing_notetype",
    "missing_deck",
    "empty_first_field",
)


def private_tempdir() -> str:
    """Give this process its own temp folder; call before importing anki.

    Old anki versions keep temp files in a shared `$TMP/anki_temp` that every
    process deletes when it exits, which breaks judges running in parallel.
    """
    path = tempfile.mkdtemp(prefix="ankideck-judge-")
    tempfile.tempdir = path
    os.environ["TMPDIR"] = path
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def emit(obj: Any) -> None:
    """Print exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=True))
    sys.stdout.write("\n")
    sys.stdout.flush()


def fail(message: str) -> NoReturn:
    """Report an internal failure on stderr and exit non-zero."""
    sys.stderr.write(f"judge error: {message}\n")
    sys.exit(2)


def run_main(main: Callable[[], Any]) -> None:
    """Run `main`, print its result as JSON; turn any exception into exit 2."""
    try:
        result = main()
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - anything is an internal failure here
        sys.stderr.write(traceback.format_exc())
        fail("unhandled exception (traceback above)")
    emit(result)


def plain(text: str) -> str:
    """Drop the Unicode isolation marks (U+2068, U+2069) Fluent puts around numbers."""
    return text.replace("\u2068", "").replace("\u2069", "")


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of both judges' `import`: --collection DIR, --allow-import-error, PKG..."""
    parser.add_argument("--collection", required=True, metavar="DIR")
    parser.add_argument("--allow-import-error", action="store_true",
                        help="record a rejected import in the JSON instead of exiting 2")
    parser.add_argument("packages", nargs="+", metavar="PKG")


def cli(parse_args: Callable[..., argparse.Namespace]) -> None:
    """A judge's main: parse the command line, run the subcommand, print its JSON.

    `judge.py serve` (either judge) instead answers one command after another, see
    `serve`.
    """
    if sys.argv[1:] == ["serve"]:
        serve(parse_args)
        return
    args = parse_args()
    # absolute paths first: old anki versions chdir into the media folder
    absolutize_paths(args)
    run_main(lambda: args.func(args))


def serve(parse_args: Callable[..., argparse.Namespace]) -> None:
    """Run one command per line of stdin until it closes, in this one process.

    A line is a JSON list of the command's arguments. For each, one JSON line answers on
    stdout: {"status": exit status, "stdout": the JSON the command printed, "stderr": its
    messages}, as running the judge with those arguments would have. Starting Python and
    importing anki is most of a short command's time, and the tests run dozens.
    """
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever else reaches stdout, from Python or the backend, goes to stderr
    start = os.getcwd()
    for line in sys.stdin:
        out, err = io.StringIO(), io.StringIO()
        status = 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                args = parse_args(json.loads(line))
                absolutize_paths(args)
                run_main(lambda: args.func(args))
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
            if isinstance(stop.code, str):
                err.write(stop.code + "\n")
        finally:
            os.chdir(start)  # old anki versions chdir into the media folder
        answers.write(json.dumps({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()}))
        answers.write("\n")
        answers.flush()


def absolutize_paths(args: Any) -> None:
    """Make every path-like argparse value absolute (relative to the start cwd)."""
    for key in ("collection", "packages", "package", "out", "workdir", "spec"):
        value = getattr(args, key, None)
        if isinstance(value, str):
            setattr(args, key, os.path.abspath(value))
        elif isinstance(value, list):
            setattr(args, key, [os.path.abspath(v) for v in value])


def sha1_file(path: str) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def media_files(media_dir: str) -> dict[str, str]:
    """Map file name -> sha1 hex of every regular file in the media folder."""
    if not os.path.isdir(media_dir):
        return {}
    out: dict[str, str] = {}
    for name in sorted(os.listdir(media_dir)):
        path = os.path.join(media_dir, name)
        if os.path.isfile(path):
            out[name] = sha1_file(path)
    return out


def counts(col: Any) -> dict[str, int]:
    return {
        "notes": int(col.db.scalar("select count() from notes")),
        "cards": int(col.db.scalar("select count() from cards")),
    }


def deck_names(col: Any) -> list[str]:
    return sorted(d.name for d in col.decks.all_names_and_ids())


def deck_details(col: Any) -> list[dict[str, Any]]:
    """Each deck's description and the options group (preset) it uses."""
    out = []
    for entry in sorted(col.decks.all_names_and_ids(), key=lambda d: d.name):
        deck = col.decks.get(entry.id)
        conf = col.decks.config_dict_for_deck_id(entry.id) if not deck.get("dyn") else {}
        out.append(
            {
                "name": deck["name"],
                "desc": deck.get("desc", ""),
                "conf_id": int(deck.get("conf", 0) or 0),
                "conf_name": conf.get("name"),
                "new_per_day": conf.get("new", {}).get("perDay"),
                "reviews_per_day": conf.get("rev", {}).get("perDay"),
                "learning_steps": conf.get("new", {}).get("delays"),
                "maximum_interval": conf.get("rev", {}).get("maxIvl"),
                "md": bool(deck.get("md", False)),
                "config": {k: v for k, v in conf.items() if k not in ("id", "mod", "usn")},
            }
        )
    return out


def notetypes(col: Any) -> list[dict[str, Any]]:
    out = []
    for nt in sorted(col.models.all(), key=lambda m: m["id"]):
        out.append(
            {
                "id": int(nt["id"]),
                "name": nt["name"],
                "type": int(nt["type"]),
                "fields": [f["name"] for f in nt["flds"]],
                "templates": [t["name"] for t in nt["tmpls"]],
                "sortf": int(nt["sortf"]),
                "settings": notetype_settings(nt),
            }
        )
    return out


FIELD_SETTINGS = ("id", "font", "size", "description", "rtl", "sticky", "plainText",
                  "collapsed", "excludeFromSearch")
TEMPLATE_SETTINGS = ("id", "bqfmt", "bafmt", "bfont", "bsize")


def notetype_settings(nt: dict[str, Any]) -> dict[str, Any]:
    """What a note type sets beyond names: ids, LaTeX, and each field's and template's
    settings (keys an older Anki does not have are left out)."""
    return {
        "latexPre": nt.get("latexPre"),
        "latexPost": nt.get("latexPost"),
        "latexsvg": nt.get("latexsvg"),
        "originalStockKind": nt.get("originalStockKind"),
        "css": nt.get("css"),
        "fields": [{k: f[k] for k in FIELD_SETTINGS if k in f} for f in nt["flds"]],
        "templates": [{k: t[k] for k in TEMPLATE_SETTINGS if k in t} for t in nt["tmpls"]],
    }


def note_guid_map(col: Any) -> dict[int, str]:
    return {int(i): g for i, g in col.db.all("select id, guid from notes")}


def dump_card(col: Any, cid: int, deck_name: Callable[[int], str]) -> dict[str, Any]:
    card = col.get_card(cid)
    out = card.render_output()
    return {
        "id": int(card.id),
        "nid": int(card.nid),
        "ord": int(card.ord),
        "deck": deck_name(int(card.did)),
        # Where the card lives when not borrowed by a filtered deck.
        "home_deck": deck_name(int(card.odid or card.did)),
        "did": int(card.did),
        "odid": int(card.odid),
        "type": int(card.type),
        "queue": int(card.queue),
        "due": int(card.due),
        "ivl": int(card.ivl),
        "factor": int(card.factor),
        "reps": int(card.reps),
        "lapses": int(card.lapses),
        "question": card.question(),
        "answer": card.answer(),
        "question_text": out.question_text,
        "answer_text": out.answer_text,
    }


def dump_notes(col: Any) -> list[dict[str, Any]]:
    """Every note with its fields by name and its cards, rendered."""
    deck_cache: dict[int, str] = {}

    def deck_name(did: int) -> str:
        if did not in deck_cache:
            deck = col.decks.get(did, default=False)
            deck_cache[did] = deck["name"] if deck else f"<missing deck {did}>"
        return deck_cache[did]

    nts = {int(m["id"]): m for m in col.models.all()}
    notes = []
    rows = col.db.all("select id, guid, mid, mod, usn, tags, flds from notes order by id")
    for nid, guid, mid, mod, usn, tags, flds in rows:
        nt = nts.get(int(mid))
        values = flds.split("\x1f")
        if nt is not None:
            names = [f["name"] for f in nt["flds"]]
        else:
            names = []
        if len(names) != len(values):
            # keep every value even if the note type does not match
            names = names + [f"#{i}" for i in range(len(names), len(values))]
        cids = col.db.list("select id from cards where nid = ? order by ord, id", nid)
        notes.append(
            {
                "id": int(nid),
                "guid": guid,
                "notetype": nt["name"] if nt is not None else None,
                "mid": int(mid),
                "mod": int(mod),
                "usn": int(usn),
                "tags": tags.split(),
                "fields": dict(zip(names, values)),
                "field_order": names[: len(values)],
                "cards": [dump_card(col, int(c), deck_name) for c in cids],
            }
        )
    return notes


def media_check_dict(resp: Any) -> dict[str, Any]:
    """Turn a CheckMediaResponse protobuf into a plain dict (lists kept whole)."""
    out: dict[str, Any] = {}
    for fd in resp.DESCRIPTOR.fields:
        value = getattr(resp, fd.name)
        if isinstance(value, (str, bytes, int, float, bool)):
            out[fd.name] = value
        else:  # repeated field
            out[fd.name] = [v if isinstance(v, (str, int, float, bool)) else str(v) for v in value]
    out.setdefault("missing", [])
    out.setdefault("unused", [])
    out["missing_media_notes"] = [int(x) for x in out.get("missing_media_notes", [])]
    out.setdefault("report", "")
    out.setdefault("have_trash", False)
    return out


def check_database(col: Any, fix: Callable[[], tuple[str, bool]]) -> dict[str, Any]:
    """Run Check Database and split its message into problem lines."""
    message, ok = fix()
    # every successful run ends with the "Database rebuilt and optimized." notice
    notice = col.tr.database_check_rebuilt()
    problems = [
        plain(line) for line in message.split("\n") if line.strip() and line != notice
    ]
    return {"message": message, "ok": bool(ok), "problems": problems}


def collection_report(col: Any, fix: Callable[[], tuple[str, bool]]) -> dict[str, Any]:
    """Counts, Check Database, media check and a full dump of the collection."""
    before = counts(col)
    check = check_database(col, fix)
    after = counts(col)
    media = media_check_dict(col.media.check())
    files = media_files(col.media.dir())
    return {
        "before_check": before,
        "check": check,
        "after_check": after,
        "media_check": media,
        "notes": dump_notes(col),
        "decks": deck_names(col),
        "deck_details": deck_details(col),
        "notetypes": notetypes(col),
        "media_files": list(files.keys()),
        "media_sha1": files,
    }


# ---------------------------------------------------------------------------
# export: a collection made from a JSON spec (both judges)

SPEC_HELP = """\
The `export` spec, a JSON object (every key optional):
  "notetypes": [{"name": N, "kind": "standard"|"cloze", "fields": [F, ...],
                 "templates": [[NAME, QFMT, AFMT], ...], "css": CSS}]
      custom note types, added beside the stock ones (a cloze type takes one template)
  "decks":    [NAME, ...]              decks made even if no note uses them
  "media":    {NAME: BASE64, ...}      files added to the media folder (Anki stores
                                       NAME in NFC; a note may spell it NFD)
  "notes":    [{"notetype": N, "deck": D, "fields": [V, ...], "tags": [T, ...]}]
  "card_decks": [[I, ORD, D], ...]     move card ORD of the I-th note (from 0) to deck D
  "edits":    [[I, [V, ...]], ...]     then set the I-th note's fields to V, ...: Anki keeps
                                       the cards the new fields no longer make
  "review":   N                        answer the first N new cards Good
  "filtered": [{"name": D, "search": S, "limit": N}]
                                       filtered decks, built after the reviews
  "presets":  [{"name": N, "decks": [D, ...], "set": {KEY: VALUE, ...}}]
                                       options groups (a new one each; "Default" edits
                                       Anki's own), KEY's value set over the group's
                                       (objects such as "new" key by key)
  "descriptions": [{"deck": D, "desc": HTML, "md": BOOL}]
"""


def build_from_spec(col: Any, spec: dict[str, Any]) -> None:
    """Fill a fresh collection as SPEC_HELP describes, with API calls that anki
    2.1.49 and current Anki share."""
    import base64

    mm = col.models
    for nt in spec.get("notetypes", []):
        m = mm.new(nt["name"])
        if nt.get("kind") == "cloze":
            m["type"] = 1
        for field in nt["fields"]:
            mm.add_field(m, mm.new_field(field))
        for name, qfmt, afmt in nt["templates"]:
            t = mm.new_template(name)
            t["qfmt"], t["afmt"] = qfmt, afmt
            mm.add_template(m, t)
        if "css" in nt:
            m["css"] = nt["css"]
        mm.add(m)
    for deck in spec.get("decks", []):
        col.decks.id(deck)
    for name, data in spec.get("media", {}).items():
        col.media.write_data(name, base64.b64decode(data))
    for n in spec.get("notes", []):
        note = col.new_note(mm.by_name(n["notetype"]))
        for i, value in enumerate(n["fields"]):
            note.fields[i] = value
        note.tags = list(n.get("tags", []))
        col.add_note(note, col.decks.id(n.get("deck", "Default")))
    nids = col.db.list("select id from notes order by id")
    for index, values in spec.get("edits", []):
        note = col.get_note(nids[index])
        for i, value in enumerate(values):
            note.fields[i] = value
        col.update_note(note)
    for index, ord_, deck in spec.get("card_decks", []):
        cid = col.db.scalar("select id from cards where nid = ? and ord = ?", nids[index], ord_)
        col.set_deck([cid], col.decks.id(deck))
    for preset in spec.get("presets", []):
        if preset["name"] == "Default":
            cid = 1
        else:
            cid = col.decks.add_config_returning_id(preset["name"])
        conf = col.decks.get_config(cid)
        for key, value in preset.get("set", {}).items():
            if isinstance(value, dict):
                conf[key].update(value)
            else:
                conf[key] = value
        col.decks.update_config(conf)
        for name in preset.get("decks", []):
            deck = col.decks.get(col.decks.id(name))
            deck["conf"] = cid
            col.decks.save(deck)
    for entry in spec.get("descriptions", []):
        deck = col.decks.get(col.decks.id(entry["deck"]))
        deck["desc"] = entry["desc"]
        if entry.get("md"):
            deck["md"] = True
        col.decks.save(deck)
    answer_first_new(col, int(spec.get("review", 0)))
    for f in spec.get("filtered", []):
        did = col.decks.new_filtered(f["name"])
        deck = col.decks.get(did)
        deck["terms"] = [[f["search"], int(f.get("limit", 100)), 0]]
        col.decks.save(deck)
        col.sched.rebuild_filtered_deck(did)


def answer_first_new(col: Any, count: int) -> None:
    """Answer the first COUNT new cards Good, on whichever scheduler the backend has."""
    cids = col.db.list("select id from cards where queue = 0 order by due, ord, id limit ?", count)
    for cid in cids:
        card = col.get_card(cid)
        card.start_timer()
        if hasattr(col.sched, "build_answer"):
            from anki.scheduler_pb2 import CardAnswer

            states = col._backend.get_scheduling_states(card.id)
            col.sched.answer_card(
                col.sched.build_answer(card=card, states=states, rating=CardAnswer.GOOD)
            )
        else:  # 2.1.49's v2 scheduler counts its queues first
            col.sched.reset()
            col.sched.answerCard(card, 3)


def dump_collection(col: Any) -> dict[str, Any]:
    """What a package exported from COL should hold, by id: note types, decks, notes,
    cards (with home deck), reviewed cards and media (name -> SHA-1)."""
    notetypes_ = [
        {
            "id": int(m["id"]),
            "name": m["name"],
            "kind": int(m["type"]),
            "fields": [f["name"] for f in m["flds"]],
            "templates": [t["name"] for t in m["tmpls"]],
        }
        for m in sorted(col.models.all(), key=lambda m: int(m["id"]))
    ]
    decks = [
        {"id": int(d["id"]), "name": d["name"], "dyn": int(d["dyn"])}
        for d in sorted(col.decks.all(), key=lambda d: int(d["id"]))
    ]
    notes = [
        {"id": int(i), "guid": g, "mid": int(m), "mod": int(mod), "tags": t.split(),
         "fields": f.split("\x1f")}
        for i, g, m, mod, t, f in col.db.all(
            "select id, guid, mid, mod, tags, flds from notes order by id")
    ]
    cards = [
        {"id": int(i), "nid": int(n), "did": int(d), "odid": int(o), "ord": int(r)}
        for i, n, d, o, r in col.db.all(
            "select id, nid, did, odid, ord from cards order by id")
    ]
    reviewed = sorted(int(c) for c in col.db.list("select distinct cid from revlog"))
    return {
        "notetypes": notetypes_,
        "decks": decks,
        "notes": notes,
        "cards": cards,
        "reviewed_cards": reviewed,
        "media_sha1": media_files(col.media.dir()),
    }
