"""Adapters for ../shared: counts and label sets as documented in each SOURCE.md."""

from __future__ import annotations

import pytest

from secframing.io import adapters
from secframing.paths import SharedDataMissing, shared_dir


def test_missing_shared_folder_says_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("SECFRAMING_SHARED", str(tmp_path / "nowhere"))
    with pytest.raises(SharedDataMissing, match="SECFRAMING_SHARED"):
        shared_dir()
    assert shared_dir(required=False) is None


def test_shared_corpus(shared_corpus):
    assert shared_corpus.n_rows == 5704
    # a few Febrayer rows hold only a dash or a URL: rejected as non-Arabic, with their reason
    assert len(shared_corpus.rejects) <= 10
    assert all("not Arabic" in r.reason and r.id.startswith("febrayer") for r in shared_corpus.rejects)
    outlets = {a.outlet for a in shared_corpus.articles}
    assert outlets == {"Hespress", "Febrayer", "Yabiladi (ar)"}
    hes = next(a for a in shared_corpus.articles if a.outlet == "Hespress" and a.title)
    assert hes.extra["source_dataset"] and hes.date
    assert len(shared_corpus.source.sha256) == 64


def test_seed_articles(shared):
    seeds = adapters.read_seed_articles()
    assert len(seeds) == 3 and all(s.id.startswith("seed_") and s.text.strip() for s in seeds)


def test_thatiar_is_read_with_quoting_disabled(shared):
    train, dev = adapters.read_thatiar("train"), adapters.read_thatiar("dev")
    assert (len(train), len(dev)) == (2446, 467)
    assert train["label"].value_counts().to_dict() == {"OBJ": 1391, "SUBJ": 1055}


def test_araieval(shared):
    a_train, a_dev = adapters.read_araieval("1A", "train"), adapters.read_araieval("1A", "dev")
    assert (len(a_train), len(a_dev)) == (2427, 259)
    assert a_train["label"].value_counts().to_dict() == {"true": 1918, "false": 509}
    b = adapters.read_araieval("1B", "train")
    assert isinstance(b["labels"].iloc[0], list)


def test_armpro(shared):
    binary = adapters.read_armpro("binary")
    assert len(binary) == 672 and binary["label"].value_counts().to_dict() == {"true": 418, "false": 254}
    multi = adapters.read_armpro("multilabel")
    assert isinstance(multi["labels"].iloc[0], list)


def test_mac(shared):
    mac = adapters.read_mac(include_mixed=True)
    assert len(mac) + len(mac.attrs["rejects"]) == 14469
    assert all(r["reason"] == "empty field 'text'" for r in mac.attrs["rejects"])
    assert set(mac["variety"]) == {"standard", "dialectal"}
    assert set(adapters.read_mac()["label"]) == {"positive", "neutral", "negative"}


def test_mac_rejects_name_the_csv_line_even_with_mixed_rows_dropped(shared):
    import csv

    mac = adapters.read_mac()
    rejects = mac.attrs["rejects"]
    assert rejects
    with open(rejects[0]["source"], encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    assert all(not lines[r["row"] - 1][0].strip() for r in rejects)  # row = line number, header is line 1


def test_inventory_hashes_every_shared_input(shared):
    inv = adapters.inventory()
    assert {"corpus", "thatiar:train", "mac:train"} <= {r["name"] for r in inv}
    assert all(len(r["sha256"]) == 64 for r in inv)
