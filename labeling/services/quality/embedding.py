"""Embedding items with the sentence encoder, in batches, off the request path."""

import logging

import numpy as np
from django.utils.translation import gettext

from labeling.models import Item, ItemEmbedding, ProjectQuality

log = logging.getLogger(__name__)

EMBED_BATCH = 256  # items read, encoded and written per round
# Items one task embeds before it hands over to the next (at ~100-200 items/s on a
# core, well inside CELERY_TASK_TIME_LIMIT).
EMBED_PER_TASK = 4096


def items_embed(*, project_id: int, limit: int = 100_000) -> int:
    """Embed the project's items that have no embedding under the current model.

    Returns how many were embedded. EncoderUnavailableError when the model cannot be
    loaded: nothing is written, and the engine decides on agreement and gold alone
    (the project's quality shows why). Items without text get no embedding. Safe to
    run twice at once: a row written by the other run is left as it is.
    """
    from labeling.quality.encoder import EncoderUnavailableError, encoder, item_text, model_info

    try:
        model = encoder()
    except EncoderUnavailableError as exc:
        ProjectQuality.objects.update_or_create(
            project_id=project_id,
            defaults={
                "prior_used": False,
                "model_status": gettext(
                    "the model is unavailable (%(reason)s): scores rest on agreement and gold alone"
                )
                % {"reason": exc},
            },
        )
        raise
    info = model_info()
    sha = info.sha256
    quality = ProjectQuality.objects.filter(project_id=project_id).first()
    # Where the last run stopped, unless the model changed (then everything again).
    last_id = quality.embedded_through_item if quality and quality.model_sha256 == sha else 0
    done = 0
    while done < limit:
        batch = list(
            Item.objects.filter(project_id=project_id, pk__gt=last_id)
            .exclude(embedding__model_sha256=sha)
            .order_by("pk")
            .values_list("pk", "data")[:EMBED_BATCH]
        )
        if not batch:
            break
        last_id = batch[-1][0]
        texts = [(pk, item_text(data)) for pk, data in batch]
        texts = [(pk, text) for pk, text in texts if text]
        if not texts:
            continue
        vectors = model.embed([text for _, text in texts])
        ItemEmbedding.objects.filter(item_id__in=[pk for pk, _ in texts]).delete()
        ItemEmbedding.objects.bulk_create(
            [
                ItemEmbedding(
                    item_id=pk, model_sha256=sha, vector=np.ascontiguousarray(vector).tobytes()
                )
                for (pk, _), vector in zip(texts, vectors, strict=True)
            ],
            ignore_conflicts=True,
        )
        done += len(texts)
    # The model the vectors come from (what refits and scores name), and how far it got.
    ProjectQuality.objects.update_or_create(
        project_id=project_id,
        defaults={
            "model_name": info.name,
            "model_version": info.version,
            "model_sha256": sha,
            "embedded_through_item": last_id,
        },
    )
    if done:
        log.info("embedded %s items of project %s", done, project_id)
    return done
