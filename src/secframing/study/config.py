"""The study's configuration: ``[section]`` dataclasses read from a study TOML (see ``configs/study.toml``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from secframing.config import FilePath, PathOrName
from secframing.io.schema import ArticleRules
from secframing.paths import DEFAULT_MODEL_DIR, DEMO_CORPUS, MODELS_DIR
from secframing.select.relevance import RelevanceConfig
from secframing.study.analysis import RegressionConfig
from secframing.study.estimators import BootstrapConfig
from secframing.study.praise import PraiseConfig
from secframing.study.topics import TopicsConfig

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class EngineConfig:
    """How the corpus is cut into shards and where the shards are processed (``[engine]``)."""

    kind: str = "local"
    """``local``: one process, shard after shard; ``ray``: a pool of Ray actors (Ray Data), each loading the
    models once."""
    shard_size: int = 1000
    """Articles per shard: the unit of streaming, of parallel work and of ``--resume``."""
    workers: int = 2
    """Ray actors (one model copy each); with no ``address`` also the CPUs of the local Ray cluster."""
    address: str | None = None
    """Address of a running Ray cluster (``ray://head:10001`` or ``auto``); default: start a local one.
    On a cluster of several machines ``out`` must be on storage every node mounts."""
    gpus_per_worker: float = 0.0
    """GPUs each Ray actor asks for; a transformer model (``device = "auto"``) then runs on its GPU."""
    threads_per_worker: int = 0
    """torch threads per Ray actor (0: one, the CPU each actor asks Ray for)."""
    keep_input_shards: bool = False
    """Keep ``shards/input/`` (the validated articles) after a finished run; by default only the per-shard
    tables and the record of finished shards stay."""

    def __post_init__(self) -> None:
        if self.kind not in ENGINES:
            raise ValueError(f"kind must be one of {', '.join(ENGINES)}, not {self.kind!r}")
        if self.shard_size < 1:
            raise ValueError("shard_size must be at least 1")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.gpus_per_worker < 0 or self.threads_per_worker < 0:
            raise ValueError("gpus_per_worker and threads_per_worker must not be negative")

@dataclass(frozen=True)
class CorrectionConfig:
    """Where the error rates for the misclassification-adjusted estimates come from."""

    enabled: bool = True
    """Compute the misclassification-adjusted estimates."""
    split: str = "test"
    """Held-out gold split of the model's run files: ``test``, ``dev`` or ``dev+test``."""

    def __post_init__(self) -> None:
        if not self.split or any(s not in ("dev", "test") for s in self.split.split("+")):
            raise ValueError("split must be 'test', 'dev' or 'dev+test'")


@dataclass(frozen=True)
class CompareConfig:
    """Comparisons between groups (``tables/contrasts``)."""

    min_articles: int = 5
    """Groups with fewer articles are left out of the pairwise and group-vs-rest comparisons."""


@dataclass(frozen=True)
class ReportConfig:
    """What ``index.html`` shows."""

    max_articles: int = 80
    """Articles shown in the HTML browser (most promotional first, then a spread of the rest)."""
    figures: bool = True
    """Draw the PNG figures (and embed them in the page)."""
    embed_font: bool = True
    """Embed an installed Arabic font (Amiri, Noto Naskh Arabic...) in index.html so it renders the same
    on machines without one; without such a font the page falls back on the reader's system fonts."""


@dataclass(frozen=True)
class StudyConfig:
    """Everything a study run depends on; saved resolved in ``manifest.json``. Paths in a config file are
    relative to that file, paths on the command line to the working directory."""

    corpus: PathOrName = str(DEMO_CORPUS)
    """Corpus: a JSONL, CSV, TSV or Parquet file (plain or .gz/.bz2/.xz/.zst), a folder or glob of such
    shards, or ``hf:NAME[@CONFIG][:SPLIT]`` (a Hugging Face dataset, read streaming); default: the bundled
    demo corpus."""
    out: FilePath = "reports/study"
    """Report folder to write."""
    model: FilePath = str(DEFAULT_MODEL_DIR)
    """Framing model directory (framing labels with probabilities, and devices)."""
    sentiment_model: FilePath = str(MODELS_DIR / "sentiment")
    """Sentiment model directory; if it does not exist the study runs without sentiment."""
    format: str | None = None
    """Force the input format (jsonl, csv, tsv, parquet); default: from the file name."""
    encoding: str | None = None
    """Input encoding when not UTF-8 (e.g. cp1256)."""
    rules: ArticleRules = field(default_factory=ArticleRules)
    relevance: RelevanceConfig = field(default_factory=RelevanceConfig)
    topics: TopicsConfig = field(default_factory=TopicsConfig)
    praise: PraiseConfig = field(default_factory=PraiseConfig)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    correction: CorrectionConfig = field(default_factory=CorrectionConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    regression: RegressionConfig = field(default_factory=RegressionConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
