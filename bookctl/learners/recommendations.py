"""What to study next: `recommend(session, user_id, snapshot, limit)`.

The algorithm (also in the README, "Recommendations")
----------------------------------------------------
Candidates are the book's **written** lessons (any type: chapter intros, lessons, labs, summaries) that the
learner has **not completed**, in reading order (`position`). Planned and retired lessons are never recommended.

1. **Prerequisites gate (hard).** A candidate is dropped while any of these is incomplete:
   - a lesson listed in its `prerequisites` (front matter) that is written and not completed;
   - a chapter listed in its chapter's `**Prerequisites:**` line, i.e. one of that chapter's written lessons is
     not completed. (A prerequisite that has no written lesson yet cannot be done and does not block.)
2. **Layer progression (hard for beginners).** A lesson's layer rank is the lowest number of its `layer`
   (`L2-L3` -> 2; none -> 0, always allowed). Learners whose `programming_experience` is `none` or `beginner`
   (and learners who have not onboarded yet) are not sent to a layer above the lowest layer that still has an
   uncompleted written lesson. Other learners may go ahead; layer still orders the rest (step 5).
3. **In progress first** (`reason_code: in_progress`): started, uncompleted lessons, most recently active
   first. They are listed even when rule 2 would hold them back (the learner already chose them), but never
   when rule 1 blocks them.
4. **Continue a started chapter** (`continue_chapter`): for each chapter in which the learner has started or
   completed a lesson, its next eligible not-started lesson after the furthest one touched (else the first
   eligible not-started one left in the chapter); chapters in reading order.
5. **Everything else eligible**, ordered by: layer rank, then goal match, then reading order.
   - **Goal boost** (`goal_match`): a lesson whose tags (plus its type, e.g. `lab`) match one of the learner's
     `learning_goals` (the goal's own name such as `building_projects`, or its synonyms in `GOAL_TAGS`) comes
     before unmatched lessons of the same layer.
   - Otherwise `next_in_order`, or `layer_progression` for the first lesson of a higher layer than the
     learner has reached so far.
Each item carries a human-readable `reason` and a machine-readable `reason_code`; no lesson appears twice.
`limit` (1..50) caps the list. A learner who has completed every written lesson gets an empty list.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from bookctl.content.service import LessonEntry, Snapshot
from bookctl.learners.preferences import learner_level
from bookctl.learners.progress import progress_map
from bookctl.learners.schemas import Recommendation, Recommendations

BEGINNER_LEVELS = ("none", "beginner")

#: Tags that count as matching each learning goal (besides the goal's own name).
GOAL_TAGS: dict[str, frozenset[str]] = {
    "career_change": frozenset({"career_change", "career", "industry", "fundamentals", "jobs"}),
    "research": frozenset({"research", "theory", "math", "papers", "advanced"}),
    "hobby": frozenset({"hobby", "diy", "fun", "hands_on"}),
    "teaching": frozenset({"teaching", "education", "concepts", "review", "classroom"}),
    "building_projects": frozenset({"building_projects", "project", "projects", "lab", "hands_on", "build"}),
}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def layer_rank(layer: str | None) -> int:
    """`L2-L3` -> 2, `L1` -> 1, None/unknown -> 0."""
    numbers = [int(n) for n in re.findall(r"\d+", layer or "")]
    return min(numbers) if numbers else 0


def _norm(tag: str) -> str:
    return re.sub(r"[\s\-]+", "_", tag.strip().lower())


@dataclass(frozen=True)
class _BookFacts:
    """What `plan` needs of a snapshot, computed once per snapshot (requests only read it)."""

    written: tuple[LessonEntry, ...]
    written_ids: frozenset[uuid.UUID]
    rank: dict[uuid.UUID, int]  # layer rank of every lesson
    tags: dict[uuid.UUID, frozenset[str]]  # normalised tags plus the lesson type
    chapter_written: dict[uuid.UUID, tuple[uuid.UUID, ...]]  # chapter -> its written lessons


def _facts(snap: Snapshot) -> _BookFacts:
    facts = snap.memo.get("recommendations")
    if facts is None:  # two threads may both build it: same result, last one wins
        written = tuple(e for e in snap.written() if not e.unlisted)  # unlisted pages are never recommended
        written_ids = frozenset(e.id for e in written)
        facts = snap.memo["recommendations"] = _BookFacts(
            written=written, written_ids=written_ids,
            rank={lid: layer_rank(e.lesson.layer) for lid, e in snap.lessons.items()},
            tags={e.id: lesson_tags(e) for e in written},
            chapter_written={cid: tuple(lid for lid in c.lesson_ids if lid in written_ids)
                             for cid, c in snap.chapters_by_id.items()},
        )
    return facts  # type: ignore[return-value]


def lesson_tags(entry: LessonEntry) -> frozenset[str]:
    return frozenset({_norm(t) for t in entry.lesson.tags} | {_norm(entry.lesson.type)})


def matched_goals(entry: LessonEntry, goals: list[str]) -> list[str]:
    return _goals_matching(lesson_tags(entry), goals)


def _goals_matching(tags: frozenset[str], goals: list[str]) -> list[str]:
    return [g for g in goals if tags & GOAL_TAGS.get(g, frozenset({g}))]


def recommend(session: Session, user_id: uuid.UUID, snap: Snapshot, limit: int = 5) -> Recommendations:
    level = learner_level(session, user_id)  # raises NotFoundError for an unknown user
    progress = progress_map(session, user_id)
    beginner = level.programming_experience is None or level.programming_experience in BEGINNER_LEVELS
    items = plan(snap, progress, goals=level.learning_goals, beginner=beginner, limit=limit)
    return Recommendations(user_id=user_id, items=items)


def plan(snap: Snapshot, progress: dict[uuid.UUID, tuple[str, int, datetime | None]], *, goals: list[str],
         beginner: bool, limit: int) -> list[Recommendation]:
    """The pure algorithm (no I/O): see the module docstring."""
    facts = _facts(snap)
    rank = facts.rank
    status = {lid: p[0] for lid, p in progress.items()}
    done = {lid for lid, st in status.items() if st == "completed"}
    written_ids = facts.written_ids
    chapter_done: dict[uuid.UUID, bool] = {}

    def chapter_complete(chapter_id: uuid.UUID) -> bool:
        if chapter_id not in chapter_done:
            chapter_done[chapter_id] = all(lid in done for lid in facts.chapter_written.get(chapter_id, ()))
        return chapter_done[chapter_id]

    def blocked(e: LessonEntry) -> bool:
        if any(p in written_ids and p not in done for p in e.prerequisite_ids):
            return True
        if e.chapter_id is not None:
            chapter = snap.chapters_by_id.get(e.chapter_id)
            if chapter is not None and not all(chapter_complete(c) for c in chapter.prerequisite_ids):
                return True
        return False

    open_lessons = [e for e in facts.written if e.id not in done]
    open_ranks = [rank[e.id] for e in open_lessons if rank[e.id] > 0]
    lowest_open = min(open_ranks) if open_ranks else 0
    reached = max((rank[lid] for lid in status if lid in rank and status[lid] != "not_started"),
                  default=lowest_open)
    reached = max(reached, lowest_open)

    def layer_ok(e: LessonEntry) -> bool:
        r = rank[e.id]
        return not beginner or r == 0 or r <= lowest_open

    eligible = [e for e in open_lessons if not blocked(e)]
    out: list[Recommendation] = []
    seen: set[uuid.UUID] = set()

    def add(e: LessonEntry, code: str, reason: str) -> None:
        if e.id in seen or len(out) >= limit:
            return
        seen.add(e.id)
        lesson = e.lesson
        if e.prerequisite_notes:  # free-text prerequisites from the front matter: the learner should know them
            reason = f"{reason} It assumes: {'; '.join(e.prerequisite_notes)}."
        out.append(Recommendation(
            lesson_id=lesson.id, slug=lesson.slug, route=lesson.route, title=lesson.title, type=lesson.type,
            layer=lesson.layer, part_number=lesson.part_number, chapter_number=lesson.chapter_number,
            reason_code=code, reason=reason,  # type: ignore[arg-type]
        ))

    # 3. in progress, most recently active first
    in_progress = [e for e in eligible if status.get(e.id) == "in_progress"]
    in_progress.sort(key=lambda e: progress[e.id][2] or _EPOCH, reverse=True)
    for e in in_progress:
        minutes = progress[e.id][1] // 60
        spent = f" ({minutes} min so far)" if minutes else ""
        add(e, "in_progress", f"You started “{e.lesson.title}”; pick up where you left off{spent}.")

    candidates = [e for e in eligible if e.id not in seen and layer_ok(e)]

    # 4. the next lesson of each chapter the learner has started
    touched_chapters = [cid for cid in snap.chapters_by_id
                        if any(lid in status for lid in snap.chapters_by_id[cid].lesson_ids)]
    for cid in touched_chapters:
        chapter = snap.chapters_by_id[cid].chapter
        last = max(snap.lessons[lid].lesson.position for lid in snap.chapters_by_id[cid].lesson_ids if lid in status)
        fresh = [e for e in candidates if e.chapter_id == cid and e.id not in status]
        after = [e for e in fresh if e.lesson.position > last]
        for e in (after or fresh)[:1]:
            add(e, "continue_chapter",
                f"Next in Chapter {chapter.number}: {chapter.title}, which you have already started.")

    # 5. the rest: layer, goal match, reading order
    matches_of = {e.id: _goals_matching(facts.tags[e.id], goals) for e in candidates if e.id not in seen}

    def key(e: LessonEntry) -> tuple:
        return (rank[e.id], 0 if matches_of[e.id] else 1, e.lesson.position)

    for e in sorted((e for e in candidates if e.id not in seen), key=key):
        matches = matches_of[e.id]
        if matches:
            add(e, "goal_match", f"Matches your goal{'s' if len(matches) > 1 else ''} "
                                 f"{', '.join(g.replace('_', ' ') for g in matches)}.")
        elif rank[e.id] > reached and rank[e.id] > 0:
            add(e, "layer_progression", f"You are ready for layer {e.lesson.layer}: this is where it begins.")
        else:
            add(e, "next_in_order", "Next in the book's reading order.")
        if len(out) >= limit:
            break
    return out
