"""The review service and the personalization rules it drives, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bookctl.errors import ConflictError, NotFoundError, ValidationError
from bookctl.personalization.prompts import PROMPT_VERSION
from bookctl.review import service
from tests.personalization.conftest import ADVANCED, BEGINNER, LESSON

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def _variant_for(env, user):
    """The one variant row of LESSON for this learner's profile."""
    found = env.service.personalize(user, LESSON)
    rows = [r for r in env.variants() if r.profile_hash == found.profile_hash and r.lesson_slug == found.lesson_slug]
    assert len(rows) == 1
    return rows[0]


def test_new_variants_are_unreviewed_and_counted(env):
    user = env.user(BEGINNER)
    row = _variant_for(env, user)
    assert row.review_status == "unreviewed" and row.reviewed_by is None
    assert row.generation_ms is not None and row.generation_ms >= 0
    with env.runtime.session() as session:
        summaries = {s.slug: s for s in service.lesson_summaries(session, PROMPT_VERSION)}
        backlog = service.backlog(session, PROMPT_VERSION)
    summary = summaries[row.lesson_slug]
    assert (summary.variants, summary.profiles, summary.unreviewed, summary.approved, summary.stale) == (1, 1, 1, 0, 0)
    assert backlog.unreviewed == 1 and backlog.approved == 0
    assert sum(s.variants for s in summaries.values()) == 1


def test_approve_records_reviewer_and_time(env):
    row = _variant_for(env, env.user(BEGINNER))
    with env.runtime.session() as session:
        done = service.approve(session, row.id, "ana", NOW, PROMPT_VERSION)
    assert done.status == "approved" and done.reviewed_by == "ana"
    stored = next(r for r in env.variants() if r.id == row.id)
    assert stored.review_status == "approved" and stored.reviewed_by == "ana"
    assert stored.reviewed_at.replace(tzinfo=timezone.utc) == NOW


def test_rejected_variant_is_never_served_and_its_note_reaches_the_regeneration_prompt(env):
    user = env.user(BEGINNER)
    row = _variant_for(env, user)
    calls_before = env.chat_calls()
    note = "Use a bicycle analogy, not a car analogy; keep it under 400 words."
    with env.runtime.session() as session:
        service.reject(session, row.id, "ana", note, NOW, PROMPT_VERSION)
    again = env.service.personalize(user, LESSON)
    assert again.cached is False, "a rejected variant must not be served"
    new_calls = env.llm.calls_to("/v1/chat/completions")[calls_before:]
    assert new_calls and all(note in str(call.body) for call in new_calls)
    regenerated = next(r for r in env.variants() if r.id == row.id)  # replaced in place
    assert regenerated.review_status == "unreviewed" and regenerated.correction == note
    assert regenerated.review_note is None and regenerated.reviewed_by is None
    # and the next request is a plain cache hit again
    assert env.service.personalize(user, LESSON).cached is True


def test_other_learners_with_the_profile_do_not_get_a_rejected_variant(env):
    first, second = env.user(BEGINNER), env.user(BEGINNER)
    row = _variant_for(env, first)
    with env.runtime.session() as session:
        service.reject(session, row.id, "ana", "too chatty", NOW, PROMPT_VERSION)
    assert env.service.personalize(second, LESSON).cached is False


def test_reject_needs_a_note_and_a_known_variant(env):
    row = _variant_for(env, env.user(BEGINNER))
    with env.runtime.session() as session, pytest.raises(ValidationError):
        service.reject(session, row.id, "ana", "   ", NOW, PROMPT_VERSION)
    with env.runtime.session() as session, pytest.raises(NotFoundError):
        service.approve(session, service.parse_variant_id("00000000-0000-0000-0000-000000000001"), "ana", NOW,
                        PROMPT_VERSION)
    with pytest.raises(ValidationError):
        service.parse_variant_id("not-a-uuid")


def test_pre_generation_regenerates_a_rejected_variant_with_the_note(env):
    user = env.user(ADVANCED)
    row = _variant_for(env, user)
    with env.runtime.session() as session:
        service.reject(session, row.id, "sam", "Mention the ROS 2 version explicitly.", NOW, PROMPT_VERSION)
        from bookctl.db import models as m

        lesson = session.get(m.Lesson, row.lesson_id)
        session.expunge(lesson)
    from bookctl.personalization.profile import Profile

    before = env.chat_calls()
    variant, generated = env.service.ensure(lesson, Profile.from_mapping(row.profile))
    assert generated is True
    assert all("Mention the ROS 2 version explicitly." in str(c.body)
               for c in env.llm.calls_to("/v1/chat/completions")[before:])
    _, again = env.service.ensure(lesson, Profile.from_mapping(row.profile))
    assert again is False  # now cached: a re-run makes no call


def test_regenerate_now_replaces_in_place_once(env):
    row = _variant_for(env, env.user(BEGINNER))
    with env.runtime.session() as session:
        service.approve(session, row.id, "ana", NOW, PROMPT_VERSION)
    sections = env.sections(row.lesson_slug)
    before = env.chat_calls()
    made = env.service.regenerate(row.id)
    assert made.cached is False and env.chat_calls() - before == sections
    stored = next(r for r in env.variants() if r.id == row.id)
    assert stored.review_status == "unreviewed"  # a new text needs a new review
    assert [r.id for r in env.variants()] == [row.id]


def test_stale_variants_after_a_lesson_edit(env):
    user = env.user(BEGINNER)
    row = _variant_for(env, user)
    lesson_file = next(env.ws.book.rglob("*embodiment-hypothesis*.md"))
    lesson_file.write_text(lesson_file.read_text(encoding="utf-8") + "\n\nOne more paragraph.\n", encoding="utf-8")
    assert env.ws.run("sync", "--json").code == 0
    with env.runtime.session() as session:
        summary = next(s for s in service.lesson_summaries(session, PROMPT_VERSION) if s.slug == row.lesson_slug)
        assert (summary.variants, summary.stale) == (0, 1)
        assert service.backlog(session, PROMPT_VERSION).stale == 1
        listed = service.list_variants(session, PROMPT_VERSION)
        assert listed == []
        assert [v.stale for v in service.list_variants(session, PROMPT_VERSION, include_stale=True)] == [True]
    with env.runtime.session() as session, pytest.raises(ConflictError):
        service.approve(session, row.id, "ana", NOW, PROMPT_VERSION)
    with pytest.raises(ConflictError):
        env.service.regenerate(row.id)


def test_detail_has_original_guards_and_learner_count(env):
    first = env.user(BEGINNER)
    env.user(BEGINNER)
    env.user(ADVANCED)
    row = _variant_for(env, first)
    with env.runtime.session() as session:
        detail = service.variant_detail(session, env.runtime.store, row.id, PROMPT_VERSION)
    assert detail.learners == 2
    assert detail.original and detail.text == row.personalized_content
    rules = {g.rule: g.ok for g in detail.guards}
    assert rules["all guards"] is True and rules["code blocks intact"] is True
    assert {"length ratio", "headings kept", "admonitions kept", "MDX components kept"} <= set(rules)


class TestPolicyRequired:
    def _service(self, env):
        return env.new_service(review_policy="required")

    def test_learners_get_the_original_until_approval_and_never_start_a_generation(self, env):
        user = env.user(BEGINNER)
        required = self._service(env)
        got = required.personalize(user, LESSON)
        assert (got.personalized, got.reason, got.cached) == (False, "not_generated", False)
        assert env.chat_calls() == 0
        assert "embodiment" in got.personalized_content.lower()  # the original lesson text

    def test_unreviewed_and_rejected_variants_are_not_served(self, env):
        user = env.user(BEGINNER)
        row = _variant_for(env, user)  # made under policy off
        required = self._service(env)
        calls = env.chat_calls()
        assert required.personalize(user, LESSON).reason == "awaiting_review"
        with env.runtime.session() as session:
            service.reject(session, row.id, "ana", "wrong tone", NOW, PROMPT_VERSION)
        assert required.personalize(user, LESSON).reason == "rejected"
        assert env.chat_calls() == calls

    def test_approved_variant_is_served(self, env):
        user = env.user(BEGINNER)
        row = _variant_for(env, user)
        with env.runtime.session() as session:
            service.approve(session, row.id, "ana", NOW, PROMPT_VERSION)
        got = self._service(env).personalize(user, LESSON)
        assert got.personalized is True and got.cached is True
        assert got.personalized_content == row.personalized_content
