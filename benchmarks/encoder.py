"""Benchmark: the sentence encoder's raw throughput (texts embedded per second).

    .venv/bin/python benchmarks/encoder.py [--batch-sizes 16,32,64,128] [--repeat 3]
                                           [--threads 0] [--texts 800]

What it does (prints figures, asserts nothing):

1. Times importing torch and transformers, then loading the model once
   (labeling.quality.encoder.encoder(): tokenizer, weights, the weights' sha256).
2. Reads RTE's 800 premise/hypothesis pairs ($NEARLABEL_CROWD_DATA, by default
   ../shared/data/crowd beside the repository) and makes each item's text as the app
   does (item_text of {"text": premise, "hypothesis": hypothesis}).
3. After one warm-up batch, embeds all texts --repeat times per batch size and prints
   texts/s (median and best of the repeats). No database, no Django request: the
   encoder alone, in this process, with torch's threads (--threads, 0 = torch's default,
   one per core).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python benchmarks/encoder.py`, Python puts benchmarks/ first on sys.path; the
# project root must be there for `labeling` and `benchmarks._common`.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import csv  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from benchmarks._common import bench_env, django_setup, log, table  # noqa: E402
from benchmarks.crowd_data import crowd_data_dir  # noqa: E402


def rte_texts(data_dir: Path, limit: int) -> list[str]:
    """One text per RTE item, in file order, as item_text makes it."""
    from labeling.quality.encoder import item_text

    texts: dict[str, str] = {}
    with (data_dir / "rte" / "rte.standardized.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            texts.setdefault(
                row["orig_id"], item_text({"text": row["text"], "hypothesis": row["hypothesis"]})
            )
    return list(texts.values())[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", default="16,32,64,128", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per batch size")
    parser.add_argument("--texts", type=int, default=800, help="RTE items embedded per run")
    parser.add_argument(
        "--threads", type=int, default=0, help="QUALITY_TORCH_THREADS (0: torch's default)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=crowd_data_dir(),
        help="the crowd data directory (holds rte/rte.standardized.csv)",
    )
    args = parser.parse_args()
    batch_sizes = [int(size) for size in args.batch_sizes.split(",") if size.strip()]

    var_dir = Path(tempfile.mkdtemp(prefix="nearlabel-bench-encoder-"))
    # No database is touched: the default SQLite URL only names a file under var_dir.
    django_setup(
        bench_env(database_url="", var_dir=var_dir, QUALITY_TORCH_THREADS=str(args.threads))
    )

    started = time.perf_counter()
    import torch
    import transformers

    imported = time.perf_counter() - started
    from labeling.quality.encoder import encoder

    started = time.perf_counter()
    model = encoder()
    loaded = time.perf_counter() - started
    log(f"model loaded: {model.info.name} {model.info.sha256[:12]} from {model.path}")

    texts = rte_texts(args.data, args.texts)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model.path), local_files_only=True)
    encoded = tokenizer(texts, truncation=True, max_length=model.max_tokens)["input_ids"]
    tokens = [len(ids) for ids in encoded]
    model.embed(texts[:64], batch_size=32)  # warm-up: first-call allocations, lazy init

    rows = []
    for batch_size in batch_sizes:
        rates = []
        for run in range(args.repeat):
            started = time.perf_counter()
            model.embed(texts, batch_size=batch_size)
            rates.append(len(texts) / (time.perf_counter() - started))
            log(f"batch {batch_size} run {run + 1}: {rates[-1]:.0f} texts/s")
        rows.append(
            (
                batch_size,
                f"{statistics.median(rates):.0f}",
                f"{max(rates):.0f}",
                f"{1000 / statistics.median(rates):.2f}",
            )
        )

    print(
        f"encoder {model.info.name} (package {model.info.version or '-'}, "
        f"sha256 {model.info.sha256[:12]}), torch {torch.__version__}, "
        f"transformers {transformers.__version__}, {torch.get_num_threads()} torch threads"
    )
    print(
        f"texts: {len(texts)} RTE premise+hypothesis, tokens per text mean "
        f"{statistics.mean(tokens):.0f}, max {max(tokens)}"
    )
    print(f"import torch + transformers: {imported:.2f} s; load model: {loaded:.2f} s")
    print()
    print(table(("batch", "texts/s (median)", "texts/s (best)", "ms/text"), rows))


if __name__ == "__main__":
    main()
