"""Pre-generation through the OpenAI Batch API (half price): submit one JSONL of chat requests, later collect the
finished batch into the variant cache with the same guards as a live generation."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bookctl.db import models as m
from bookctl.errors import BookctlError, NotFoundError, ValidationError
from bookctl.llm.generate import Completion
from bookctl.personalization import repository as repo
from bookctl.personalization.plan import Plan
from bookctl.personalization.profile import Profile
from bookctl.personalization.prompts import build_messages
from bookctl.personalization.repository import CacheKey
from bookctl.personalization.schemas import Generated

if TYPE_CHECKING:
    from bookctl.llm.generate import OpenAIGenerator
    from bookctl.personalization.service import PersonalizationService
    from bookctl.runtime import Runtime


def submit_batch(runtime: "Runtime", service: "PersonalizationService", plan: Plan,
                 openai: "OpenAIGenerator") -> dict[str, Any]:
    """Upload one JSONL of chat requests (custom_id = cache key, `#i/n` for sections) and create the batch, through
    `openai`'s client and retry policy."""
    lines, requests = [], {}
    for item in plan.todo:
        pieces = service.pieces(service.body_of(item.lesson))
        note = plan.corrections.get((item.lesson.id, item.lesson.content_hash, item.profile.hash))
        for i, piece in enumerate(pieces):
            messages = build_messages(item.profile, piece, section=(i + 1, len(pieces)), editor_note=note)
            lines.append(json.dumps({"custom_id": f"{item.key.custom_id}#{i + 1}/{len(pieces)}", "method": "POST",
                                     "url": "/v1/chat/completions",
                                     "body": {"model": plan.model, "messages": messages, "temperature": 0.2}}))
        requests[item.key.custom_id] = {"lesson_slug": item.lesson.slug, "profile": item.profile.as_dict(),
                                        "sections": len(pieces)}
    if not requests:
        return {"batch_id": None, "requests": 0, "variants": 0}
    payload = ("\n".join(lines) + "\n").encode()
    client, client_call = openai.client, openai.with_retries
    upload = client_call(lambda: client.files.create(file=("personalize.jsonl", payload), purpose="batch"))
    batch = client_call(lambda: client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                                      completion_window="24h",
                                                      metadata={"bookctl": "personalize", "book": plan.book}))
    with runtime.session() as session:
        session.add(m.PersonalizationBatch(id=batch.id, model=plan.model, prompt_version=plan.prompt_version,
                                           status=batch.status or "submitted", input_file_id=upload.id,
                                           requests=requests, result={}))
    return {"batch_id": batch.id, "status": batch.status, "requests": len(lines), "variants": len(requests),
            "input_file_id": upload.id}


def collect_batch(runtime: "Runtime", service: "PersonalizationService", batch_id: str,
                  openai: "OpenAIGenerator") -> dict[str, Any]:
    """Write a finished batch's results into the cache, guards applied. Idempotent: cached keys are skipped."""
    with runtime.session() as session:
        record = session.get(m.PersonalizationBatch, batch_id)
        if record is None:
            raise NotFoundError(f"no batch {batch_id!r} was submitted from this database")
        requests = dict(record.requests)
    client, client_call = openai.client, openai.with_retries
    batch = client_call(lambda: client.batches.retrieve(batch_id))
    result: dict[str, Any] = {"batch_id": batch_id, "status": batch.status, "written": 0, "skipped": 0,
                              "failed": [], "stale": 0, "collected": False}
    if batch.status != "completed":
        with runtime.session() as session:
            session.get(m.PersonalizationBatch, batch_id).status = batch.status
        if batch.status in ("failed", "expired", "cancelled"):
            result["failed"] = [{"key": k, "error": f"batch {batch.status}"} for k in requests]
        return result
    answers: dict[str, Any] = {}
    for file_id in filter(None, (batch.output_file_id, batch.error_file_id)):
        text = client_call(lambda fid=file_id: client.files.content(fid)).text
        for line in filter(None, text.splitlines()):
            row = json.loads(line)
            answers[row["custom_id"]] = row
    with runtime.session() as session:
        lessons = {str(r.id): r for r in session.scalars(select(m.Lesson).where(
            m.Lesson.id.in_([CacheKey.parse(k).lesson_id for k in requests])))}
        session.expunge_all()
    for custom_id, meta in requests.items():
        key = CacheKey.parse(custom_id)
        profile = Profile.from_mapping(meta["profile"])
        with runtime.session() as session:
            if repo.get_variant(session, key) is not None:
                result["skipped"] += 1
                continue
        lesson = lessons.get(str(key.lesson_id))
        if lesson is None or lesson.content_hash != key.content_hash:
            result["stale"] += 1  # the lesson changed since submission: its variant would never be served
            continue
        try:
            body = service.body_of(lesson)
            pieces = service.pieces(body)
            if len(pieces) != meta["sections"]:
                raise ValidationError("the lesson splits differently than when submitted")
            parts: list[Generated] = []
            for i, piece in enumerate(pieces):
                answer = answers.get(f"{custom_id}#{i + 1}/{len(pieces)}")
                completion = _completion(answer)
                parts.append(service.personalize_piece(piece, profile, (i + 1, len(pieces)), completion))
            service.save(key, lesson.slug, profile, service.assemble(body, parts))
            result["written"] += 1
        except BookctlError as exc:
            result["failed"].append({"lesson": meta["lesson_slug"], "profile": profile.label, "error": exc.kind,
                                     "message": exc.message})
    result["collected"] = True
    with runtime.session() as session:
        record = session.get(m.PersonalizationBatch, batch_id)
        record.status = "collected"
        record.collected_at = datetime.now(timezone.utc)
        record.result = {k: v for k, v in result.items() if k != "failed"} | {"failed": len(result["failed"])}
    return result


def _completion(answer: dict[str, Any] | None) -> Completion:
    """A batch answer as a Completion; a missing or failed answer becomes an empty one (the guard retries it)."""
    if not answer or answer.get("error") or not answer.get("response"):
        return Completion(text="", finish_reason="error")
    response = answer["response"]
    if response.get("status_code") != 200:
        return Completion(text="", finish_reason="error")
    body = response.get("body") or {}
    choice = (body.get("choices") or [{}])[0]
    usage = body.get("usage") or {}
    return Completion(text=(choice.get("message") or {}).get("content") or "", finish_reason=choice.get("finish_reason"),
                      tokens_in=usage.get("prompt_tokens", 0), tokens_out=usage.get("completion_tokens", 0))
