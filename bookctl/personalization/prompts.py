"""The versioned personalization prompt. Changing any text here MUST bump PROMPT_VERSION (it is in the cache key)."""

from __future__ import annotations

import json

from bookctl.personalization.profile import Profile

PROMPT_VERSION = "p1"
LESSON_OPEN = "<<<LESSON"
LESSON_CLOSE = "LESSON>>>"

_SYSTEM = """You adapt one lesson of a technical textbook on Physical AI and humanoid robotics to one learner.

Rules that always apply:
- Output ONLY the adapted lesson as Markdown. No preamble ("Here is..."), no closing remarks, and do NOT wrap
  the answer in a code fence.
- Copy every fenced code block (``` or ~~~) of the lesson EXACTLY, character for character, including its
  info string. Never change, translate, shorten or drop code. You may add explanation around it.
- Keep every heading in the same order, keep the facts, links, tables, admonitions and images. Do not invent
  facts. Keep roughly the same length or longer; never summarize the lesson away.

Adapt to this learner:
{guidance}

Learner profile (canonical): {profile}"""

# An editor rejected the previous variant of this lesson for this profile (bookctl review) and said why. The
# note is added only to that regeneration, so every other prompt (and PROMPT_VERSION) is unchanged.
_EDITOR_NOTE = """An editor of this textbook reviewed an earlier adaptation of this lesson for this learner and rejected
it with this correction, which you must follow (within the rules above):
<<<EDITOR
{note}
EDITOR>>>"""

_CORRECTION = """Your previous answer was rejected: {problem}
Answer again following every rule: output only the adapted Markdown, with every fenced code block of the lesson
copied exactly."""


def guidance(profile: Profile) -> str:
    lines: list[str] = []
    prog = profile.programming_experience
    if prog in ("none", "beginner"):
        lines.append("- Programming: beginner. Expand explanations, define terms on first use, walk through what "
                     "each code block does line by line in prose, and prefer simple, concrete examples.")
    elif prog == "intermediate":
        lines.append("- Programming: intermediate. Explain the non-obvious parts; skip basic syntax.")
    else:
        lines.append("- Programming: advanced. Skip basics, be concise, and add notes on trade-offs, performance "
                     "and edge cases where they matter.")
    if not profile.robotics_background:
        lines.append("- No robotics background: add everyday analogies and real-world examples for robotics "
                     "concepts (sensors, actuators, control loops, kinematics).")
    else:
        lines.append("- Has a robotics background: relate ideas to familiar robotics practice; no basic analogies.")
    ai = profile.ai_ml_experience
    if ai in ("none", "basic"):
        lines.append("- AI/ML: little experience. Explain ML terms briefly when they appear.")
    else:
        lines.append("- AI/ML: experienced. Connect to ML concepts they know; do not explain ML basics.")
    edu = profile.education_level
    if edu == "high_school":
        lines.append("- Education: high school. Keep math light and intuitive.")
    elif edu in ("graduate", "professional"):
        lines.append("- Education: graduate/professional. Formal precision and references to deeper topics are welcome.")
    if profile.preferred_language == "ur":
        lines.append("- Language: write all explanatory text in Urdu. Keep technical terms (for example ROS 2, "
                     "actuator, LiDAR, reinforcement learning, API names) in English, and keep ALL code, "
                     "identifiers, commands and code comments exactly as in the original, in English.")
    else:
        lines.append("- Language: English.")
    return "\n".join(lines)


def build_messages(profile: Profile, markdown: str, *, section: tuple[int, int] | None = None,
                   correction: str | None = None, previous: str | None = None,
                   editor_note: str | None = None) -> list[dict[str, str]]:
    system = _SYSTEM.format(guidance=guidance(profile), profile=json.dumps(profile.as_dict(), sort_keys=True))
    if editor_note and editor_note.strip():
        system += "\n\n" + _EDITOR_NOTE.format(note=editor_note.strip())
    where = ""
    if section is not None and section[1] > 1:
        where = (f"This is part {section[0]} of {section[1]} of a longer lesson; adapt only this part and do not "
                 "add an introduction or conclusion for the whole lesson.\n")
    user = f"{where}Adapt this lesson:\n{LESSON_OPEN}\n{markdown}\n{LESSON_CLOSE}"
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    if correction is not None:
        if previous is not None:
            messages.append({"role": "assistant", "content": previous[:4000]})
        messages.append({"role": "user", "content": _CORRECTION.format(problem=correction)})
    return messages
