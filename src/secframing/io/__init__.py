"""Reading corpora: the article schema, file readers with rejects, and adapters for ``../shared``."""

from secframing.io.readers import ReadResult, iter_records, read_articles, read_table
from secframing.io.schema import Article, ArticleRules, Reject

__all__ = ["Article", "ArticleRules", "ReadResult", "Reject", "iter_records", "read_articles", "read_table"]
