"""The file table the explorer lists: read from a real catalog on disk, it must hold exactly the catalog's
rows, order them as sorting the plain tuples would, find rows by path and id, lay out the ●/✗ marks,
match names, and stay small: a million files cost about 55 MB where tuples cost about 300 MB."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import numpy as np

from vexplore.engine.results import EmbeddedFile, FailedFile
from vexplore.engine.store import Store
from vexplore.engine.table import KINDS

NAMES = [
    "Zebra.txt",
    "alpha/b.png",
    "alpha/a.wav",
    "émile/été.txt",
    "日本/猫.jpg",
    "beta/clip.mp4",
    "beta/Clip2.MP4",
    "a b/c d.md",
    "UPPER/README.TXT",
    "z/última.flac",
]


def make_catalog(tmp_path, n_extra=300):
    root = tmp_path / "root"
    root.mkdir()
    store = Store(root, tmp_path / "store", create=True)
    rng = random.Random(3)
    rows = [
        (
            p,
            ("text", "image", "audio", "text", "image", "video", "video", "text", "text", "audio")[i],
            rng.randrange(10**6),
            rng.randrange(10**18),
        )
        for i, p in enumerate(NAMES)
    ]
    rows += [
        (f"d{rng.randrange(50):02d}/f{i:05d}.{ext}", mod, rng.randrange(10**6), rng.randrange(10**18))
        for i in range(n_extra)
        for ext, mod in [rng.choice([("txt", "text"), ("jpg", "image"), ("ogg", "audio")])]
    ]
    rng.shuffle(rows)  # ids in another order than paths
    with store.db:
        store.db.executemany(
            "INSERT INTO files(path, raw, modality, size, mtime_ns) VALUES (?,?,?,?,?)",
            [(p, p.encode(), m, s, t) for p, m, s, t in rows],
        )
    return store


def tuples(store):
    return store.db.execute("SELECT id, path, modality, size, mtime_ns FROM files").fetchall()


def test_table_holds_the_catalog_rows_in_path_order(tmp_path):
    store = make_catalog(tmp_path)
    table = store.file_table()
    plain = sorted(tuples(store), key=lambda e: e[1])
    assert [table.row(i) for i in range(len(table))] == plain
    assert table.paths() == sorted(table.paths())
    head = store.file_table(first=7)
    assert [head.row(i) for i in range(len(head))] == plain[:7]
    (tmp_path / "empty").mkdir()
    empty = Store(tmp_path / "empty", tmp_path / "empty-store", create=True).file_table()
    assert len(empty) == 0 and empty.position("a") is None and list(empty.order("size")) == []
    assert empty.positions(np.array([1])).tolist() == [-1]


def test_orders_match_sorting_the_tuples(tmp_path):
    store = make_catalog(tmp_path)
    table = store.file_table()
    plain = tuples(store)
    expected = {
        "name": sorted(plain, key=lambda e: e[1]),
        "kind": sorted(plain, key=lambda e: (KINDS.index(e[2]), e[1])),
        "size": sorted(plain, key=lambda e: (-e[3], e[1])),
        "recent": sorted(plain, key=lambda e: (-e[4], e[1])),
    }
    for by, want in expected.items():
        assert [table.row(i) for i in table.order(by)] == want, by


def test_positions_marks_and_matching(tmp_path):
    store = make_catalog(tmp_path)
    table = store.file_table()
    by_path = {e[1]: e[0] for e in tuples(store)}
    for path in NAMES + ["missing.txt", ""]:
        at = table.position(path)
        assert (at is None) if path not in by_path else (table.path(at) == path)
    ids = np.array([by_path["日本/猫.jpg"], 10**9, by_path["Zebra.txt"]])
    rows = table.positions(ids)
    assert rows[1] == -1 and table.path(rows[0]) == "日本/猫.jpg" and table.path(rows[2]) == "Zebra.txt"
    marks = table.marks(ids, np.array([1, 1, -1], np.int8))
    assert marks[rows[0]] == 1 and marks[rows[2]] == -1 and np.count_nonzero(marks) == 2

    rows = table.order("size")
    got = table.matching(rows, ["clip"])
    assert [table.path(i) for i in got] == [p for p in (table.path(i) for i in rows) if "clip" in p.lower()]
    assert {table.path(i) for i in got} == {"beta/clip.mp4", "beta/Clip2.MP4"}
    assert [table.path(i) for i in table.matching(rows, ["été"])] == ["émile/été.txt"]
    assert len(table.matching(rows, ["readme", "upper"])) == 1
    assert len(table.matching(rows, ["nothing-like-this"])) == 0


def test_file_states_come_as_arrays(tmp_path):
    store = make_catalog(tmp_path, n_extra=20)
    model = store.ensure_model("m", "text", "test", ("text",), 4, False, {})
    files = sorted(store.files().values(), key=lambda f: f.path)
    good, bad = files[:5], files[5:8]
    results = [EmbeddedFile(f, np.ones(4, np.float32) / 2, 1.0) for f in good]
    results += [FailedFile(f, "cannot decode") for f in bad]
    store.commit_batch(model, results)
    ids, marks = store.file_states()
    assert dict(zip(ids.tolist(), marks.tolist(), strict=False)) == {
        **{f.id: 1 for f in good},
        **{f.id: -1 for f in bad},
    }
    table = store.file_table()
    laid = table.marks(ids, marks)
    assert [int(laid[table.position(f.path)]) for f in files[:10]] == [1] * 5 + [-1] * 3 + [0] * 2

    # A second model: a file counts as embedded when any model has its vector, failed when all failed.
    other = store.ensure_model("m2", "text", "test", ("text",), 4, False, {})
    store.commit_batch(
        other,
        [
            EmbeddedFile(bad[0], np.ones(4, np.float32) / 2, 1.0),
            FailedFile(bad[1], "too long"),
            FailedFile(good[0], "too long"),
            FailedFile(files[9], "too long"),
        ],
    )
    ids, marks = store.file_states()
    want = {**{f.id: 1 for f in good}, bad[0].id: 1, bad[1].id: -1, bad[2].id: -1, files[9].id: -1}
    assert (
        sorted(ids.tolist()) == ids.tolist() and dict(zip(ids.tolist(), marks.tolist(), strict=False)) == want
    )


def test_a_million_rows_cost_about_a_hundred_megabytes(tmp_path):
    """Measured in a fresh process: the table of 1M files against the tuples it replaced."""
    script = textwrap.dedent(f"""
        import sqlite3, sys
        from vexplore.engine.table import FileTable
        db = sqlite3.connect({str(tmp_path / "big.sqlite")!r})
        db.execute("CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT UNIQUE, modality TEXT, "
                   "size INT, mtime_ns INT)")
        db.executemany("INSERT INTO files VALUES (?,?,?,?,?)",
                       ((i, f"d{{i % 997:04d}}/file{{i:07d}}.txt", "text", i * 7,
                         1_700_000_000_000_000_000 + i)
                        for i in range(1, 1_000_001)))
        db.commit()
        def rss():
            return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) / 1024
        base = rss()
        table = FileTable.read(db)
        mid = rss()
        rows = db.execute("SELECT id, path, modality, size, mtime_ns FROM files").fetchall()
        print(len(table), mid - base, rss() - mid)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    n, table_mb, tuples_mb = out.stdout.split()
    assert int(n) == 1_000_000
    assert float(table_mb) < 80, out.stdout
    assert float(tuples_mb) > 3 * float(table_mb), out.stdout


def test_matching_on_lower_case_names_shares_the_buffer(tmp_path):
    (tmp_path / "root").mkdir()
    store = Store(tmp_path / "root", tmp_path / "store", create=True)
    paths = ["a/cat.txt", "b/caterpillar.txt", "c/dog.txt", "été/chat.txt"]
    with store.db:
        store.db.executemany(
            "INSERT INTO files(path, raw, modality, size, mtime_ns) VALUES (?,?,?,?,?)",
            [(p, p.encode(), "text", 1, 1) for p in paths],
        )
    table = store.file_table()
    rows = table.order("name")
    assert table.paths(table.matching(rows, ["CAT"])) == ["a/cat.txt", "b/caterpillar.txt"]
    assert table.paths(table.matching(rows, ["É/CH"])) == ["été/chat.txt"]
    assert table._lower is not None and table._lower[0].base is not None  # a view of the names, no copy
    assert bytes(table._lower[0]) == table.names
