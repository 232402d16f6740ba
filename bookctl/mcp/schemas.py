"""Output schemas of the MCP tools, derived from the msgspec structs the API serves (one shape, no copy).

The MCP SDK publishes a tool's `outputSchema` from its return annotation and validates every result against
it, and it understands pydantic models, not msgspec structs. `model_of(Struct)` builds the pydantic twin of a
struct field by field (nested structs included), so a field added to `SearchHit` or `ProgressSummary` reaches
the MCP schema by itself. Tools return `to_output(Model, struct)`.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, Union

import msgspec
from pydantic import BaseModel, ConfigDict, Field, create_model

from bookctl.content import schemas as content
from bookctl.learners import schemas as learners
from bookctl.search.query import SearchResponse


def _translate(annotation: Any) -> Any:
    """The same type with every msgspec Struct replaced by its pydantic model."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return model_of(annotation)
    origin = typing.get_origin(annotation)
    if origin is None:
        return annotation
    args = typing.get_args(annotation)
    if origin is typing.Annotated:  # msgspec.Meta constraints are the input's business, not the output's
        return _translate(args[0])
    if origin in (Union, types.UnionType):
        return Union[tuple(_translate(a) for a in args)]  # noqa: UP007 - built from a runtime tuple
    if origin is Literal:
        return annotation
    return origin[tuple(_translate(a) for a in args)] if len(args) > 1 else origin[_translate(args[0])]


@lru_cache(maxsize=None)
def model_of(struct: type[msgspec.Struct]) -> type[BaseModel]:
    """The pydantic model with the struct's fields, types, defaults and docstring."""
    hints = typing.get_type_hints(struct, include_extras=True)
    fields: dict[str, Any] = {}
    for info in msgspec.structs.fields(struct):
        default = ... if info.required else (info.default if info.default is not msgspec.NODEFAULT else None)
        fields[info.encode_name] = (_translate(hints[info.name]), Field(default))
    doc = (struct.__doc__ or "").strip() or None
    return create_model(struct.__name__, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields)


def to_output(model: type[BaseModel], value: msgspec.Struct) -> BaseModel:
    """A service result as the tool's output model (JSON-ready builtins first: UUIDs and datetimes as text)."""
    return model.model_validate(msgspec.to_builtins(value))


# ------------------------------------------------------------------ the tools' outputs

SearchResults = model_of(SearchResponse)
Outline = model_of(content.Book)
LessonText = model_of(content.LessonContent)
ProgressSummary = model_of(learners.ProgressSummary)
LessonProgress = model_of(learners.LessonProgress)
Recommendations = model_of(learners.Recommendations)


class PersonalizedLesson(BaseModel):
    """The caller's shared variant of a lesson (the POST /api/personalize answer, plus which lesson it is)."""

    slug: str
    route: str | None
    title: str
    personalized_content: str
    cached: bool = Field(description="True when the variant was already cached (no LLM call was made)")
    generated_at: datetime
    personalized: bool = Field(True, description="False when the original lesson is served instead (with "
                                                 "BOOKCTL_VARIANT_REVIEW=required and no approved variant yet)")
    reason: str | None = Field(None, description="Why not personalized: not_generated, awaiting_review, rejected")
