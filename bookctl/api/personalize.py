"""`POST /api/personalize` and `DELETE /api/personalize/cache`.

POST: the variant of a lesson for the caller's current profile, in the contract shape
``{personalized_content, cached, generated_at}``. The lesson is named by ``lesson_slug``: a slug, a route or the
site's ``window.location.pathname`` (bookctl.content.resolver; the site's baseUrl is stripped);
its canonical synced body is what gets personalized. ``original_content``, which the contract's frontend sends,
is accepted and IGNORED: client text never reaches the LLM and never decides what is cached.
404: unknown user or lesson, a planned (unwritten) lesson, or a user who has not completed onboarding.
429: the caller caused more than ``BOOKCTL_PERSONALIZE_MISS_LIMIT`` new generations in the last
``BOOKCTL_PERSONALIZE_MISS_WINDOW`` seconds (cache hits are never limited; a failed generation is refunded).
502/503: the LLM failed or timed out after retries, or its answer failed the guards twice; nothing is cached.

DELETE /api/personalize/cache — semantics (variants are SHARED by every learner with the same profile, so one
learner must not be able to wipe other learners' cache or run up the bill):
- no row is deleted. The caller's "cleared at" time is recorded; from then on, a variant created before that time
  is not served to the caller: their next request for that lesson regenerates it (counted against their own
  miss limit, so at most N regenerations per window) and the fresh variant replaces the shared row in place,
  so other learners with the profile simply get the newer text and never see a miss.
- ``deleted_count`` is the number of variants of the caller's current profile that this invalidated for them.
- Preference changes need no DELETE: a new profile hashes to a new key (FR-021/FR-024 by construction).
"""

from __future__ import annotations

import msgspec
from litestar import Controller, delete, post
from litestar.params import JSONBody

from bookctl.api.content import snapshot
from bookctl.api.deps import BEARER, Content, CurrentUserId, Injected
from bookctl.api.errors import error_responses


class PersonalizeCreate(msgspec.Struct):
    lesson_slug: str
    original_content: str | None = None  # accepted for the contract's frontend, ignored


class Personalized(msgspec.Struct, omit_defaults=True):
    personalized_content: str
    cached: bool
    generated_at: str
    # Present only when false (so the contract's shape is unchanged otherwise): BOOKCTL_VARIANT_REVIEW=required
    # and no approved variant yet. The content is then the original lesson and `reason` says why
    # (not_generated | awaiting_review | rejected).
    personalized: bool = True
    reason: str | None = None


class CacheCleared(msgspec.Struct):
    deleted_count: int


class PersonalizeController(Controller):
    path = "/api/personalize"
    tags = ["Personalization"]
    security = BEARER

    @post("/", status_code=200, operation_id="personalizeLesson",
          responses=error_responses(400, 401, 403, 404, 413, 429, 502, 503),
          summary="The lesson adapted to your profile (cached, or generated now)")
    async def personalize(self, personalization: Injected, content: Content, current_user_id: CurrentUserId,
                          data: JSONBody[PersonalizeCreate]) -> Personalized:
        # The lesson is named the way every content endpoint names it (slug, route or doc id).
        await snapshot(content)
        slug = content.entry(data.lesson_slug).lesson.slug
        # async: database work and generation run in worker threads; concurrent requests for a variant being
        # generated await that one flight without holding a thread (see PersonalizationService.apersonalize)
        variant = await personalization.apersonalize(current_user_id, slug)
        return Personalized(**variant.as_contract())

    @delete("/cache", status_code=200, sync_to_thread=True, operation_id="clearPersonalizationCache",
            responses=error_responses(400, 401, 403, 404, 503),
            summary="Stop serving you the current variants (they are regenerated for you, within your limit)")
    def clear_cache(self, personalization: Injected, current_user_id: CurrentUserId) -> CacheCleared:
        return CacheCleared(personalization.clear_cache(current_user_id))
