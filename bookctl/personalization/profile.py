"""The profile: the canonical form of exactly the preference fields the prompt uses, and its hash.

Learners with the same profile share one variant. `learning_goals` is deliberately NOT part of the profile:
the prompt does not use it (goals shape recommendations, not how a lesson is explained), and including a
free combination of five goals would split every variant ~31 ways for no change in the text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, Mapping

from bookctl.errors import ValidationError

EDUCATION_LEVELS = ("high_school", "undergraduate", "graduate", "professional")
PROGRAMMING_LEVELS = ("none", "beginner", "intermediate", "advanced")
AI_ML_LEVELS = ("none", "basic", "intermediate", "advanced")
LANGUAGES = ("en", "ur")
PROFILE_FIELDS = ("education_level", "programming_experience", "robotics_background", "ai_ml_experience",
                  "preferred_language")
_CHOICES: dict[str, tuple[Any, ...]] = {
    "education_level": EDUCATION_LEVELS,
    "programming_experience": PROGRAMMING_LEVELS,
    "robotics_background": (False, True),
    "ai_ml_experience": AI_ML_LEVELS,
    "preferred_language": LANGUAGES,
}
DEFAULTS: dict[str, Any] = {
    "education_level": "undergraduate", "programming_experience": "intermediate", "robotics_background": False,
    "ai_ml_experience": "basic", "preferred_language": "en",
}


@dataclass(frozen=True)
class Profile:
    education_level: str
    programming_experience: str
    robotics_background: bool
    ai_ml_experience: str
    preferred_language: str

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, defaults: bool = False) -> "Profile":
        values: dict[str, Any] = {}
        for name in PROFILE_FIELDS:
            raw = data.get(name, DEFAULTS[name] if defaults else None)
            if raw is None:
                raise ValidationError(f"profile is missing {name!r}", detail={"field": name})
            values[name] = _canonical(name, raw)
        return cls(**values)

    @classmethod
    def from_preferences(cls, prefs: Any) -> "Profile":
        return cls.from_mapping({name: getattr(prefs, name) for name in PROFILE_FIELDS})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def canonical_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))

    @cached_property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    @property
    def label(self) -> str:
        rb = "robotics" if self.robotics_background else "no-robotics"
        return (f"{self.education_level}/prog-{self.programming_experience}/{rb}/ai-{self.ai_ml_experience}/"
                f"{self.preferred_language}")


def _canonical(name: str, raw: Any) -> Any:
    if name == "robotics_background":
        if isinstance(raw, bool):
            value: Any = raw
        elif str(raw).strip().lower() in ("true", "yes", "1"):
            value = True
        elif str(raw).strip().lower() in ("false", "no", "0"):
            value = False
        else:
            raise ValidationError(f"robotics_background must be true or false; got {raw!r}", detail={"field": name})
        return value
    value = str(raw).strip().lower().replace("-", "_").replace(" ", "_")
    if name == "preferred_language":
        value = {"english": "en", "urdu": "ur"}.get(value, value)
    if value not in _CHOICES[name]:
        raise ValidationError(f"{name} must be one of {', '.join(map(str, _CHOICES[name]))}; got {raw!r}",
                              detail={"field": name})
    return value


def matrix(spec: str) -> list[Profile]:
    """`field=a,b;field2=x,y` → the cartesian product; unnamed fields take DEFAULTS. `all` = every choice."""
    import itertools

    axes: dict[str, list[Any]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        if "=" not in part:
            raise ValidationError(f"matrix axis {part!r} must look like field=value1,value2")
        name, values = (x.strip() for x in part.split("=", 1))
        if name not in PROFILE_FIELDS:
            raise ValidationError(f"unknown profile field {name!r}; fields: {', '.join(PROFILE_FIELDS)}")
        items = list(_CHOICES[name]) if values == "all" else [v for v in values.split(",") if v.strip()]
        axes[name] = [_canonical(name, v) for v in items]
    names = list(axes)
    seen: dict[str, Profile] = {}
    for combo in itertools.product(*(axes[n] for n in names)):
        profile = Profile.from_mapping(dict(zip(names, combo)), defaults=True)
        seen.setdefault(profile.hash, profile)
    return list(seen.values())
