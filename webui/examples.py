"""The example questions the chat offers: the corpus's own list next to its index, else questions about the indexed
documents built from their titles (the templates are data too). Code names no document, place or figure."""

from __future__ import annotations

from rag.lexicon import load_list

MAX_EXAMPLES = 4


def example_questions(assistant, limit: int = MAX_EXAMPLES) -> list[str]:
    """Up to `limit` example questions for the index the assistant serves: <index>/lexicon/example_questions.txt
    when the corpus has one, else one question per document (shortest titles first: they make short buttons)."""
    own = load_list("example_questions", assistant.index_dir)
    if own:
        return list(own[:limit])
    templates = load_list("example_templates")
    titles = {r.doc.title.strip().strip("《》") for r in assistant.documents()} - {""}
    chosen = sorted(titles, key=lambda t: (len(t), t))[:limit]
    return [templates[i % len(templates)].replace("{title}", t) for i, t in enumerate(chosen)] if templates else []
