"""Guards, splitting and profiles: pure functions."""

from __future__ import annotations

import pytest

from bookctl.errors import ValidationError
from bookctl.curriculum.frontmatter import split_block
from bookctl.personalization.guards import GuardFailure, check_variant, code_blocks, sections
from bookctl.personalization.profile import Profile, matrix
from tests.fakes.openai_server import personalize_transform

ORIGINAL = """# Title

Some prose about sensors.

```python
def read():
    return 42
```

More prose.

~~~bash
ros2 run demo talker
~~~
"""


def test_code_blocks_found_verbatim():
    blocks = code_blocks(ORIGINAL)
    assert blocks == ["```python\ndef read():\n    return 42\n```", "~~~bash\nros2 run demo talker\n~~~"]


def test_transformed_variant_passes():
    check_variant(ORIGINAL, personalize_transform(ORIGINAL, "sys"))


@pytest.mark.parametrize("variant, rule", [
    ("", "empty"),
    ("   \n", "empty"),
    ("Here is the adapted lesson:\n\n" + ORIGINAL, "preamble"),
    ("Sure! " + ORIGINAL, "preamble"),
    ("```markdown\n" + ORIGINAL + "\n```", "wrapper_fence"),
    (ORIGINAL.replace("return 42", "return 43"), "code_block"),
    (ORIGINAL.replace("~~~bash\nros2 run demo talker\n~~~\n", ""), "code_block"),
    (ORIGINAL[:60] + "\n```python\ndef read():\n    return 42\n```\n~~~bash\nros2 run demo talker\n~~~", None),
    (ORIGINAL * 30, "too_long"),
])
def test_guard_rules(variant, rule):
    if rule is None:
        check_variant(ORIGINAL, variant)  # shorter but within bounds, code intact
        return
    with pytest.raises(GuardFailure) as info:
        check_variant(ORIGINAL, variant)
    assert info.value.rule == rule


def test_too_short_is_rejected():
    long = "# T\n\n" + "A sentence of prose that carries meaning. " * 200
    with pytest.raises(GuardFailure) as info:
        check_variant(long, long[:300])
    assert info.value.rule == "too_short"


def test_a_code_block_repeated_twice_must_survive_twice():
    block = "```\nx = 1\n```"
    original = f"# T\n\n{block}\n\ntext\n\n{block}\n"
    with pytest.raises(GuardFailure):
        check_variant(original, f"# T\n\n{block}\n\ntext text\n")


def test_sections_split_at_h2_outside_code_and_join_back():
    body = "# T\n\nintro\n\n" + "".join(f"## S{i}\n\n" + "word " * 300 + "\n\n```\n## not a heading\n```\n\n"
                                         for i in range(6))
    pieces = sections(body, 3000)
    assert "".join(pieces) == body
    assert len(pieces) > 1
    assert all(not p.startswith("## not") for p in pieces)
    assert all(len(p) <= 3000 for p in pieces[1:])


def test_front_matter_split():
    fm, body = split_block("---\ntitle: X\n---\n# Body\n")
    assert fm == "---\ntitle: X\n---\n" and body == "# Body\n"
    assert split_block("# No front matter\n") == ("", "# No front matter\n")


def test_profile_uses_only_prompt_fields_and_is_canonical():
    a = Profile.from_mapping(dict(education_level="Graduate", programming_experience="advanced",
                                  robotics_background="true", ai_ml_experience="basic", preferred_language="English",
                                  learning_goals=["research"]))
    b = Profile.from_mapping(dict(education_level="graduate", programming_experience="advanced",
                                  robotics_background=True, ai_ml_experience="basic", preferred_language="en",
                                  learning_goals=["hobby", "teaching"]))
    assert a == b and a.hash == b.hash  # goals are not part of the profile
    c = Profile.from_mapping({**b.as_dict(), "preferred_language": "ur"})
    assert c.hash != b.hash


def test_profile_rejects_unknown_values():
    with pytest.raises(ValidationError):
        Profile.from_mapping(dict(education_level="phd", programming_experience="advanced", robotics_background=True,
                                  ai_ml_experience="basic", preferred_language="en"))


def test_matrix_is_a_cartesian_product_with_defaults():
    profiles = matrix("programming_experience=beginner,advanced;preferred_language=all")
    assert len(profiles) == 4
    assert {p.education_level for p in profiles} == {"undergraduate"}


def test_prompt_adapts_as_the_spec_requires():
    from bookctl.personalization.prompts import PROMPT_VERSION, build_messages, guidance

    beginner = Profile.from_mapping(dict(education_level="high_school", programming_experience="beginner",
                                         robotics_background=False, ai_ml_experience="none", preferred_language="ur"))
    expert = Profile.from_mapping(dict(education_level="professional", programming_experience="advanced",
                                       robotics_background=True, ai_ml_experience="advanced", preferred_language="en"))
    g = guidance(beginner)
    assert "Expand explanations" in g and "analogies" in g and "Urdu" in g and "code" in g  # FR-015/016/017
    g = guidance(expert)
    assert "Skip basics" in g and "analogies" not in g.replace("no basic analogies", "")
    messages = build_messages(beginner, ORIGINAL)
    assert ORIGINAL in messages[1]["content"] and "EXACTLY" in messages[0]["content"] and PROMPT_VERSION
    corrected = build_messages(beginner, ORIGINAL, correction="code_block: missing", previous="bad")
    assert [m["role"] for m in corrected] == ["system", "user", "assistant", "user"]


MDX_LESSON = """import Tabs from '@theme/Tabs';

# Nodes

:::tip Remember
A node is one process.
:::

<Tabs groupId="lang">
Nodes talk over topics and services, and every node has a name.
</Tabs>
"""


def test_mdx_components_and_admonitions_must_survive() -> None:
    from bookctl.personalization.guards import GuardFailure, check_variant

    adapted = MDX_LESSON.replace("A node is one process.", "A node is one running program (a process).")
    check_variant(MDX_LESSON, adapted)  # prose adapted, MDX kept: fine
    check_variant(MDX_LESSON, adapted.replace(":::tip Remember", ":::tip Yaad rakhein"))  # a translated title is prose
    for broken in (adapted.replace("import Tabs from '@theme/Tabs';\n", ""),
                   adapted.replace('<Tabs groupId="lang">', "<Tabs>"),
                   adapted.replace(":::tip Remember", "**Remember**").replace("\n:::\n", "\n")):
        with pytest.raises(GuardFailure) as failure:
            check_variant(MDX_LESSON, broken)
        assert failure.value.rule == "mdx"
