"""Cross-file checks of a collection: qrels against corpus and topics."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..common.formats import Qrels


@dataclass
class Report:
    """Counts (and a few examples) of inconsistencies between corpus, topics and qrels."""

    n_docs: int
    n_topics: int
    n_judged_topics: int
    n_judgments: int
    unknown_docids: list[tuple[str, str]] = field(default_factory=list)  # (qid, docid) in qrels, not in corpus
    unknown_topics: list[str] = field(default_factory=list)  # qids in qrels, not in topics
    topics_without_qrels: list[str] = field(default_factory=list)
    topics_without_relevant: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unknown_docids or self.unknown_topics or self.topics_without_qrels)

    def problems(self, examples: int = 5) -> list[str]:
        out = []

        def ex(items):
            shown = ", ".join(str(i) for i in items[:examples])
            return shown + (", ..." if len(items) > examples else "")

        if self.unknown_docids:
            out.append(f"{len(self.unknown_docids)} qrels point at unknown docids: "
                       + ex([f"{q}->{d}" for q, d in self.unknown_docids]))
        if self.unknown_topics:
            out.append(f"{len(self.unknown_topics)} qrels topics are unknown in topics: {ex(self.unknown_topics)}")
        if self.topics_without_qrels:
            out.append(f"{len(self.topics_without_qrels)} topics have no qrels: {ex(self.topics_without_qrels)}")
        if self.topics_without_relevant:
            out.append(f"{len(self.topics_without_relevant)} topics have no relevant document: {ex(self.topics_without_relevant)}")
        return out


def check(docids: set[str] | None, topics: dict[str, str], qrels: Qrels) -> Report:
    """Compare the three files; ``docids=None`` skips the corpus check (topics-only collections)."""
    unknown_docids = [] if docids is None else [(q, d) for q, judged in qrels.items() for d in judged if d not in docids]
    return Report(
        n_docs=len(docids or ()),
        n_topics=len(topics),
        n_judged_topics=len(qrels),
        n_judgments=sum(len(j) for j in qrels.values()),
        unknown_docids=unknown_docids,
        unknown_topics=sorted(q for q in qrels if q not in topics),
        topics_without_qrels=sorted(q for q in topics if q not in qrels),
        topics_without_relevant=sorted(q for q in topics if q in qrels and not any(r > 0 for r in qrels[q].values())),
    )
