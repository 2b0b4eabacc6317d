#!/usr/bin/env python3
"""Judge Anki packages with the official, current Anki backend (PyPI `anki`).

Every subcommand prints exactly one JSON object on stdout. Internal failures
(including an import that Anki rejects, unless --allow-import-error) print a
message on stderr and exit with status 2.

Subcommands:
  import       import packages into a collection and dump the result
  review       answer the first N new cards (v3 scheduler) to create history
  export-apkg  build a small collection with Anki itself and export a .apkg
  export       build a collection from a JSON spec and export it in every format
  sync         round-trip a package through a local sync server (desktop -> phone)
  export-csv   export sample notes as "Notes in Plain Text", every option combination
  import-csv   import text files as Anki's File > Import does and dump the notes
  render       import packages into a fresh collection; every card's question() and answer()
  find         the guids of the notes each search of Anki's browser finds in a collection
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from typing import Any

sys.dont_write_bytecode = True  # keep tests/anki/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import judge_common as jc  # noqa: E402

jc.private_tempdir()

from anki.buildinfo import version as ANKI_VERSION  # noqa: E402
from anki.collection import (  # noqa: E402
    Collection,
    ExportAnkiPackageOptions,
    ImportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)
from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition  # noqa: E402
from anki.scheduler_pb2 import CardAnswer  # noqa: E402
from anki.sync_pb2 import SyncCollectionResponse  # noqa: E402

SYNC_USER = "user"
SYNC_PASS = "pass"

UPDATE_CONDITIONS = {
    "if-newer": ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
    "always": ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_ALWAYS,
    "never": ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_NEVER,
}


def open_collection(directory: str) -> Collection:
    """Open DIR/collection.anki2, creating DIR and a fresh collection if needed."""
    os.makedirs(directory, exist_ok=True)
    return Collection(os.path.join(os.path.abspath(directory), "collection.anki2"))


# ---------------------------------------------------------------------------
# import


def import_one(col: Collection, pkg: str, args: argparse.Namespace) -> dict[str, Any]:
    """Import one package; return the import log as counts, guids and details."""
    options = ImportAnkiPackageOptions(
        with_scheduling=args.with_scheduling,
        with_deck_configs=args.with_deck_configs,
        merge_notetypes=args.merge_notetypes,
        update_notes=UPDATE_CONDITIONS[args.update_notes],
        update_notetypes=UPDATE_CONDITIONS[args.update_notetypes],
    )
    entry: dict[str, Any] = {"package": os.path.abspath(pkg), "ok": True, "error": None}
    try:
        out = col.import_anki_package(
            ImportAnkiPackageRequest(package_path=os.path.abspath(pkg), options=options)
        )
    except Exception as exc:  # Anki rejected the package
        if not args.allow_import_error:
            jc.fail(f"import of {pkg} failed: {type(exc).__name__}: {exc}")
        entry.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        entry.update(counts={}, guids={}, details={}, log=[])
        return entry

    guid_of = jc.note_guid_map(col)
    counts: dict[str, int] = {}
    guids: dict[str, list[str | None]] = {}
    details: dict[str, list[dict[str, Any]]] = {}
    for cat in jc.LOG_CATEGORIES:
        items = list(getattr(out.log, cat))
        counts[cat] = len(items)
        guids[cat] = [guid_of.get(int(n.id.nid)) for n in items]
        details[cat] = [
            {"id": int(n.id.nid), "guid": guid_of.get(int(n.id.nid)), "fields": list(n.fields)}
            for n in items
        ]
    counts["found_notes"] = int(out.log.found_notes)
    entry.update(counts=counts, guids=guids, details=details, log=[])
    return entry


def cmd_import(args: argparse.Namespace) -> dict[str, Any]:
    col = open_collection(args.collection)
    try:
        imports = [import_one(col, pkg, args) for pkg in args.packages]
        report = jc.collection_report(col, col.fix_integrity)
        return {
            "backend": "current",
            "anki_version": ANKI_VERSION,
            "collection": col.path,
            "imports": imports,
            **report,
        }
    finally:
        col.close()


def cmd_find(args: argparse.Namespace) -> dict[str, Any]:
    """Search the collection as Anki's browser does (`nid:…`): each search's guids."""
    col = open_collection(args.collection)
    try:
        guid_of = jc.note_guid_map(col)
        found = {q: [guid_of.get(int(n)) for n in col.find_notes(q)] for q in args.searches}
        return {"backend": "current", "anki_version": ANKI_VERSION, "found": found}
    finally:
        col.close()


# ---------------------------------------------------------------------------
# review


def cmd_review(args: argparse.Namespace) -> dict[str, Any]:
    """Answer the first N new cards (by due position) with Good, v3 scheduler."""
    col = open_collection(args.collection)
    try:
        col.set_v3_scheduler(True)
        rating = {"again": CardAnswer.AGAIN, "hard": CardAnswer.HARD,
                  "good": CardAnswer.GOOD, "easy": CardAnswer.EASY}[args.rating]
        cids = col.db.list(
            "select id from cards where queue = 0 order by due, ord, id limit ?", args.answer
        )
        answered = []
        for cid in cids:
            card = col.get_card(cid)
            card.start_timer()
            states = col._backend.get_scheduling_states(card.id)
            col.sched.answer_card(col.sched.build_answer(card=card, states=states, rating=rating))
            card.load()
            answered.append(
                {
                    "id": int(card.id),
                    "nid": int(card.nid),
                    "guid": col.db.scalar("select guid from notes where id = ?", card.nid),
                    "ord": int(card.ord),
                    "type": int(card.type),
                    "queue": int(card.queue),
                    "due": int(card.due),
                    "ivl": int(card.ivl),
                    "reps": int(card.reps),
                }
            )
        return {
            "backend": "current",
            "anki_version": ANKI_VERSION,
            "answered": answered,
            "revlog_entries": int(col.db.scalar("select count() from revlog")),
        }
    finally:
        col.close()


# ---------------------------------------------------------------------------
# export-apkg


def tiny_png(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid 2x2 RGB PNG, made by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


EXPORT_DECK = "JudgeHarness::Geography"
EXPORT_IMAGE = "judge-red-dot.png"


def cmd_export_apkg(args: argparse.Namespace) -> dict[str, Any]:
    """Make a collection with Anki itself and export it as a package."""
    out_path = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="judge-export-") as tmp:
        col = open_collection(tmp)
        try:
            did = col.decks.id(EXPORT_DECK)
            basic = col.models.by_name("Basic")
            cloze = col.models.by_name("Cloze")
            media_name = col.media.write_data(EXPORT_IMAGE, tiny_png())

            def add(nt: Any, fields: list[str], tags: list[str]) -> None:
                note = col.new_note(nt)
                for i, value in enumerate(fields):
                    note.fields[i] = value
                note.tags = tags
                col.add_note(note, did)

            add(basic, ["What is the capital of France?", "Paris"], ["geo", "judge::basic"])
            add(cloze, ["{{c1::Canberra}} is the capital of {{c2::Australia}}.", "Not Sydney."],
                ["geo", "judge::cloze"])
            add(basic, [f'Which flag is this? <img src="{media_name}">', "A red one"],
                ["geo", "judge::media"])

            options = ExportAnkiPackageOptions(
                with_scheduling=False, with_deck_configs=False, with_media=True,
                legacy=not args.latest,
            )
            exported = col.export_anki_package(out_path=out_path, options=options, limit=None)
            report = {
                "backend": "current",
                "anki_version": ANKI_VERSION,
                "package": out_path,
                "legacy": not args.latest,
                "exported_notes": int(exported),
                "deck": EXPORT_DECK,
                "notes": [
                    {k: v for k, v in n.items() if k not in ("id", "mid", "usn")}
                    for n in jc.dump_notes(col)
                ],
                "media_sha1": jc.media_files(col.media.dir()),
            }
        finally:
            col.close()
    return report


# ---------------------------------------------------------------------------
# export


# The packages `export` writes into --out DIR, by format name.
EXPORT_FORMATS = {
    "legacy": "legacy.apkg",  # collection.anki21 (schema 11), JSON media map
    "latest": "latest.apkg",  # meta, collection.anki21b (zstd, schema 18)
    "colpkg": "latest.colpkg",  # the whole collection, latest layout
    "legacy-colpkg": "legacy.colpkg",  # the whole collection, collection.anki21
}


def cmd_export(args: argparse.Namespace) -> dict[str, Any]:
    """Build a collection from --spec (see judge_common.SPEC_HELP), export it in each
    format of --formats into --out, and report what the collection holds."""
    import json

    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    formats = args.formats.split(",")
    packages: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="judge-export-") as tmp:
        col = open_collection(tmp)
        try:
            jc.build_from_spec(col, spec)
            report = jc.dump_collection(col)
            for name in formats:
                path = os.path.join(out_dir, EXPORT_FORMATS[name])
                packages[name] = path
                if name.endswith("colpkg"):
                    continue
                options = ExportAnkiPackageOptions(
                    with_scheduling=args.with_scheduling,
                    with_deck_configs=args.with_deck_configs,
                    with_media=True,
                    legacy=name == "legacy",
                )
                col.export_anki_package(out_path=path, options=options, limit=None)
            # Exporting a collection package closes the collection: last.
            for name in [n for n in formats if n.endswith("colpkg")]:
                col.export_collection_package(packages[name], True, name == "legacy-colpkg")
                col.reopen()
        finally:
            col.close()
    return {"backend": "current", "anki_version": ANKI_VERSION, "packages": packages,
            **report}


# ---------------------------------------------------------------------------
# text files

# Notes for export-csv: (note type, deck, fields, tags). Decks with `::`, HTML, quotes,
# commas, semicolons, newlines, tabs, Chinese; the same first field twice; 2-3 fields.
CSV_NOTES = [
    ("Basic", "Spanish::Verbs", ["hola", "hello"], ["spanish", "greet::formal"]),
    ("Basic", "Spanish", ['say "hi", then', "line one\nline two\twith a tab"], []),
    ("Basic", "Spanish", ["hola", "hi, again"], ["dup"]),
    ("Basic (and reversed card)", "Spanish", ["<b>bold</b> &amp; more", "x; y: z | w"], []),
    ("Cloze", "Chinese", ["{{c1::北京}}是中国的{{c2::首都}}", "extra, with a comma"], ["中文"]),
    ("Basic (optional reversed card)", "Chinese::Words", ["猫", "cat<br>chat", "y"], []),
]


def cmd_export_csv(args: argparse.Namespace) -> dict[str, Any]:
    """Export CSV_NOTES with Anki's exporter, once per combination of its options."""
    out_dir = os.path.abspath(args.dir)
    os.makedirs(out_dir, exist_ok=True)
    files = []
    with tempfile.TemporaryDirectory(prefix="judge-csv-") as tmp:
        col = open_collection(tmp)
        try:
            for notetype, deck, fields, tags in CSV_NOTES:
                note = col.new_note(col.models.by_name(notetype))
                for i, value in enumerate(fields):
                    note.fields[i] = value
                note.tags = tags
                col.add_note(note, col.decks.id(deck))
            names = ["html", "tags", "deck", "notetype", "guid"]
            for bits in range(1 << len(names)):
                on = {name: bool(bits >> i & 1) for i, name in enumerate(names)}
                label = "-".join(n for n in names if on[n]) or "plain"
                path = os.path.join(out_dir, f"{label}.txt")
                col.export_note_csv(
                    out_path=path, limit=None, with_html=on["html"], with_tags=on["tags"],
                    with_deck=on["deck"], with_notetype=on["notetype"], with_guid=on["guid"],
                )
                files.append({"file": path, **on})
        finally:
            col.close()
    return {"backend": "current", "anki_version": ANKI_VERSION, "files": files}


def cmd_import_csv(args: argparse.Namespace) -> dict[str, Any]:
    """Import each text file into a fresh collection, with the options its header and
    Anki's defaults give, and dump its notes."""
    from anki.import_export_pb2 import ImportCsvRequest

    results = []
    for path in args.files:
        with tempfile.TemporaryDirectory(prefix="judge-csv-") as tmp:
            col = open_collection(tmp)
            try:
                metadata = col.get_csv_metadata(os.path.abspath(path), None)
                col.import_csv(ImportCsvRequest(path=os.path.abspath(path), metadata=metadata))
                results.append({"file": path, "notes": jc.dump_notes(col)})
            finally:
                col.close()
    return {"backend": "current", "anki_version": ANKI_VERSION, "imports": results}


# ---------------------------------------------------------------------------
# render


def cmd_render(args: argparse.Namespace) -> dict[str, Any]:
    """Import the packages into a fresh collection and return, for every card, the HTML
    that `card.question()` and `card.answer()` give (what the reviewer shows)."""
    with tempfile.TemporaryDirectory(prefix="judge-render-") as tmp:
        col = open_collection(tmp)
        try:
            for pkg in args.packages:
                col.import_anki_package(
                    ImportAnkiPackageRequest(
                        package_path=os.path.abspath(pkg),
                        options=ImportAnkiPackageOptions(with_scheduling=False),
                    )
                )
            cards = []
            for cid, guid, ord_ in col.db.all(
                "select c.id, n.guid, c.ord from cards c join notes n on n.id = c.nid "
                "order by n.guid, c.ord"
            ):
                card = col.get_card(cid)
                cards.append(
                    {"id": int(cid), "guid": guid, "ord": int(ord_),
                     "question": card.question(), "answer": card.answer()}
                )
        finally:
            col.close()
    return {"backend": "current", "anki_version": ANKI_VERSION, "cards": cards}


# ---------------------------------------------------------------------------
# sync


# The sync server's log line once it listens, "... INFO listening addr=127.0.0.1:40123",
# read without its colour codes and only once the whole line is written.
LISTENING = re.compile(r"listening\b.*\baddr=127\.0\.0\.1:(\d+)\r?\n")
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def wait_listening(proc: subprocess.Popen, log_path: str, timeout: float) -> int:
    """Wait until the server, started on port 0, logs the port the system gave it.

    The server binds the port itself, so no other test's server can be given the same one
    (choosing a free port first and passing it on leaves a gap in which it can be taken).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = LISTENING.search(COLOUR.sub("", read_tail(log_path, limit=None)))
        if match:
            port = int(match.group(1))
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                return port
        if proc.poll() is not None:
            jc.fail(f"sync server exited with {proc.returncode}: {read_tail(log_path)}")
        time.sleep(0.05)
    jc.fail(f"sync server did not say where it listens within {timeout}s: {read_tail(log_path)}")


def read_tail(path: str, limit: int | None = 4000) -> str:
    try:
        with open(path, "r", errors="replace") as f:
            text = f.read()
            return text if limit is None else text[-limit:]
    except OSError:
        return "<no log>"


REQUIRED_NAMES = {v: k for k, v in SyncCollectionResponse.ChangesRequired.items()}


def sync_side(col: Collection, endpoint: str, upload: bool, timeout: float) -> dict[str, Any]:
    """Log in, sync the collection (full sync in the given direction if asked), sync media."""
    auth = col.sync_login(SYNC_USER, SYNC_PASS, endpoint)
    if not auth.endpoint:
        auth.endpoint = endpoint
    out = col.sync_collection(auth, False)
    steps: list[str] = [REQUIRED_NAMES.get(out.required, str(out.required))]
    if out.new_endpoint:
        auth.endpoint = out.new_endpoint
    if out.required in (
        SyncCollectionResponse.FULL_SYNC,
        SyncCollectionResponse.FULL_UPLOAD,
        SyncCollectionResponse.FULL_DOWNLOAD,
    ):
        if out.required == SyncCollectionResponse.FULL_UPLOAD:
            upload = True
        elif out.required == SyncCollectionResponse.FULL_DOWNLOAD:
            upload = False
        col.close_for_full_sync()
        col.full_upload_or_download(auth=auth, server_usn=out.server_media_usn, upload=upload)
        col.reopen(after_full_sync=True)
        steps.append("FULL_UPLOAD_DONE" if upload else "FULL_DOWNLOAD_DONE")
    col.sync_media(auth)
    deadline = time.monotonic() + timeout
    while True:
        status = col.media_sync_status()  # raises if the media sync failed
        if not status.active:
            break
        if time.monotonic() > deadline:
            col.abort_media_sync()
            jc.fail(f"media sync did not finish within {timeout}s")
        time.sleep(0.1)
    steps.append("MEDIA_DONE")
    return {"required": REQUIRED_NAMES.get(out.required, str(out.required)),
            "server_message": out.server_message, "steps": steps}


def side_report(col: Collection, with_questions: bool) -> dict[str, Any]:
    files = jc.media_files(col.media.dir())
    report: dict[str, Any] = {
        **jc.counts(col),
        "decks": jc.deck_names(col),
        "guids": sorted(col.db.list("select guid from notes")),
        "media_files": list(files.keys()),
        "media_sha1": files,
    }
    if with_questions:
        questions = []
        for cid, guid, ord_ in col.db.all(
            "select c.id, n.guid, c.ord from cards c join notes n on n.id = c.nid "
            "order by n.guid, c.ord"
        ):
            questions.append(
                {"id": int(cid), "guid": guid, "ord": int(ord_),
                 "question": col.get_card(cid).question()}
            )
        report["questions"] = questions
    return report


def cmd_sync(args: argparse.Namespace) -> dict[str, Any]:
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    env = dict(os.environ)
    env.update(
        SYNC_USER1=f"{SYNC_USER}:{SYNC_PASS}",
        SYNC_BASE=os.path.join(workdir, "server"),
        SYNC_HOST="127.0.0.1",
        SYNC_PORT="0",  # any free port: see wait_listening
    )
    log_path = os.path.join(workdir, "server.log")
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "anki.syncserver"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        port = wait_listening(proc, log_path, args.timeout)
        server_ready = time.monotonic() - started
        endpoint = f"http://127.0.0.1:{port}/"

        desktop = open_collection(os.path.join(workdir, "desktop"))
        try:
            desktop.import_anki_package(
                ImportAnkiPackageRequest(
                    package_path=os.path.abspath(args.package),
                    options=ImportAnkiPackageOptions(with_scheduling=False),
                )
            )
            desktop_sync = sync_side(desktop, endpoint, upload=True, timeout=args.timeout)
            desktop_report = side_report(desktop, with_questions=False)
        finally:
            desktop.close()

        phone = open_collection(os.path.join(workdir, "phone"))
        try:
            phone_sync = sync_side(phone, endpoint, upload=False, timeout=args.timeout)
            phone_report = side_report(phone, with_questions=True)
        finally:
            phone.close()
    except SystemExit:
        raise
    except BaseException:
        sys.stderr.write(f"sync server log:\n{read_tail(log_path)}\n")
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return {
        "backend": "current",
        "anki_version": ANKI_VERSION,
        "endpoint": endpoint,
        "server_ready_secs": round(server_ready, 3),
        "desktop_sync": desktop_sync,
        "phone_sync": phone_sync,
        "desktop": desktop_report,
        "phone": phone_report,
    }


# ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    imp = sub.add_parser("import", help="import packages into DIR/collection.anki2 and dump it")
    jc.add_import_arguments(imp)
    imp.add_argument("--with-scheduling", action="store_true")
    imp.add_argument("--with-deck-configs", action="store_true")
    imp.add_argument("--merge-notetypes", action="store_true")
    imp.add_argument("--update-notes", choices=sorted(UPDATE_CONDITIONS), default="if-newer")
    imp.add_argument("--update-notetypes", choices=sorted(UPDATE_CONDITIONS), default="if-newer")
    imp.set_defaults(func=cmd_import)

    rev = sub.add_parser("review", help="answer the first N new cards")
    rev.add_argument("--collection", required=True, metavar="DIR")
    rev.add_argument("--answer", required=True, type=int, metavar="N")
    rev.add_argument("--rating", choices=["again", "hard", "good", "easy"], default="good")
    rev.set_defaults(func=cmd_review)

    exp = sub.add_parser("export-apkg", help="export an Anki-made sample package")
    exp.add_argument("--out", required=True, metavar="FILE")
    exp.add_argument("--latest", action="store_true", help="latest format instead of legacy")
    exp.set_defaults(func=cmd_export_apkg)

    ex = sub.add_parser(
        "export", help="build a collection from a JSON spec and export it",
        description=jc.SPEC_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    ex.add_argument("--spec", required=True, metavar="FILE", help="the JSON spec")
    ex.add_argument("--out", required=True, metavar="DIR", help="where the packages go")
    ex.add_argument("--formats", default="legacy,latest,colpkg",
                    help="comma-separated: " + ", ".join(EXPORT_FORMATS))
    ex.add_argument("--with-scheduling", action="store_true",
                    help="apkg keeps scheduling, review history and filtered decks")
    ex.add_argument("--with-deck-configs", action="store_true")
    ex.set_defaults(func=cmd_export)

    ecsv = sub.add_parser("export-csv", help="export sample notes as text files")
    ecsv.add_argument("--dir", required=True, metavar="DIR")
    ecsv.set_defaults(func=cmd_export_csv)

    icsv = sub.add_parser("import-csv", help="import text files, each into a fresh collection")
    icsv.add_argument("files", nargs="+", metavar="FILE")
    icsv.set_defaults(func=cmd_import_csv)

    ren = sub.add_parser("render", help="every card's question() and answer(), rendered by Anki")
    ren.add_argument("packages", nargs="+", metavar="PKG")
    ren.set_defaults(func=cmd_render)

    fnd = sub.add_parser("find", help="the guids of the notes each browser search finds")
    fnd.add_argument("--collection", required=True, metavar="DIR")
    fnd.add_argument("searches", nargs="+", metavar="SEARCH")
    fnd.set_defaults(func=cmd_find)

    syn = sub.add_parser("sync", help="desktop -> local sync server -> phone round trip")
    syn.add_argument("--workdir", required=True, metavar="DIR")
    syn.add_argument("--timeout", type=float, default=60.0, help="seconds per wait")
    syn.add_argument("package", metavar="PKG")
    syn.set_defaults(func=cmd_sync)
    return p.parse_args(argv)


if __name__ == "__main__":
    jc.cli(parse_args)
