#!/usr/bin/env python3
"""Judge Anki packages with anki 2.1.49 and its old Python importer.

This is the importer that old desktop clients (and the code AnkiDroid ported)
used: `anki.importing.apkg.AnkiPackageImporter`. It prints the same JSON shape
as `judge.py import`, as far as the old API allows.

Subcommands:
  import --collection DIR PKG [PKG ...]
  export --spec FILE --out DIR [--with-scheduling]
      a collection built from the JSON spec (judge_common.SPEC_HELP, as `judge.py
      export`), exported by the 2.1.49 exporter as DIR/legacy1.apkg: without
      scheduling a `collection.anki2` package (schema 11, JSON media map), the
      layout of every Anki before 2.1.50
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from typing import Any

sys.dont_write_bytecode = True  # keep tests/anki/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import judge_common as jc  # noqa: E402

jc.private_tempdir()

from anki.buildinfo import version as ANKI_VERSION  # noqa: E402
from anki.collection import Collection  # noqa: E402
from anki.importing.apkg import AnkiPackageImporter  # noqa: E402


def package_guids(collection_file: str) -> list[str]:
    """Guids of the notes in the package's extracted collection file."""
    con = sqlite3.connect(f"file:{collection_file}?mode=ro", uri=True)
    try:
        return [g for (g,) in con.execute("select guid from notes order by id")]
    finally:
        con.close()


def guid_state(col: Collection) -> dict[str, tuple[int, int]]:
    return {g: (int(i), int(m)) for i, g, m in col.db.all("select id, guid, mod from notes")}


def import_one(col: Collection, pkg: str, allow_error: bool) -> dict[str, Any]:
    """Import one package; derive per-category guids by diffing the collection."""
    entry: dict[str, Any] = {"package": os.path.abspath(pkg), "ok": True, "error": None}
    before = guid_state(col)
    importer = AnkiPackageImporter(col, os.path.abspath(pkg))
    try:
        importer.run()
    except Exception as exc:  # the old importer rejected the package
        if not allow_error:
            jc.fail(f"legacy import of {pkg} failed: {type(exc).__name__}: {exc}")
        entry.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        entry.update(counts={}, guids={}, details={}, log=[jc.plain(x) for x in importer.log],
                     importer_reported={})
        # the old importer may leave a transaction half done
        try:
            col.db.rollback()
        except Exception:
            pass
        return entry

    after = guid_state(col)
    in_package = package_guids(importer.file)  # run() points .file at the extracted db
    conflicting = [g for g in in_package if g in getattr(importer, "_ignoredGuids", {})]
    new = [g for g in in_package if g not in before and g in after]
    updated = [g for g in in_package if g in before and g in after and after[g] != before[g]]
    seen = set(new) | set(updated) | set(conflicting)
    duplicate = [g for g in in_package if g in before and g not in seen]

    guids: dict[str, list[str | None]] = {cat: [] for cat in jc.LOG_CATEGORIES}
    guids.update(new=new, updated=updated, duplicate=duplicate, conflicting=conflicting)
    counts = {cat: len(v) for cat, v in guids.items()}
    counts["found_notes"] = len(in_package)
    # The importer's own numbers. They can differ from the guid lists: a note
    # whose note type changed is counted both as conflicting (_ignoredGuids)
    # and, unless its mod is newer, in `dupes`.
    reported = {
        "added": int(importer.added),
        "updated": int(importer.updated),
        "dupes": int(importer.dupes),
        "ignored": len(getattr(importer, "_ignoredGuids", {})),
    }
    details = {
        cat: [{"id": after.get(g, before.get(g, (None,)))[0], "guid": g} for g in gs]
        for cat, gs in guids.items()
    }
    entry.update(counts=counts, guids=guids, details=details, log=[jc.plain(x) for x in importer.log],
                 importer_reported=reported)
    return entry


def cmd_import(args: argparse.Namespace) -> dict[str, Any]:
    os.makedirs(args.collection, exist_ok=True)
    col = Collection(os.path.join(os.path.abspath(args.collection), "collection.anki2"))
    try:
        imports = [import_one(col, pkg, args.allow_import_error) for pkg in args.packages]
        report = jc.collection_report(col, col.fix_integrity)
        return {
            "backend": "legacy",
            "anki_version": ANKI_VERSION,
            "collection": col.path,
            "sched_ver": int(col.sched_ver()),
            "imports": imports,
            **report,
        }
    finally:
        col.close()


def cmd_export(args: argparse.Namespace) -> dict[str, Any]:
    import json
    import tempfile

    from anki.exporting import AnkiPackageExporter

    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(os.path.abspath(args.out), "legacy1.apkg")
    with tempfile.TemporaryDirectory(prefix="judge-export-") as tmp:
        col = Collection(os.path.join(tmp, "collection.anki2"))
        try:
            jc.build_from_spec(col, spec)
            report = jc.dump_collection(col)
            exporter = AnkiPackageExporter(col)
            exporter.includeSched = args.with_scheduling
            exporter.includeMedia = True
            exporter.exportInto(path)
        finally:
            col.close()
    return {"backend": "legacy", "anki_version": ANKI_VERSION,
            "packages": {"legacy1": path}, **report}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="import packages with the 2.1.49 importer and dump")
    jc.add_import_arguments(imp)
    imp.set_defaults(func=cmd_import)
    ex = sub.add_parser("export", help="export a collection built from a JSON spec",
                        description=jc.SPEC_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ex.add_argument("--spec", required=True, metavar="FILE")
    ex.add_argument("--out", required=True, metavar="DIR")
    ex.add_argument("--with-scheduling", action="store_true")
    ex.set_defaults(func=cmd_export)
    return p.parse_args(argv)


if __name__ == "__main__":
    jc.cli(parse_args)
