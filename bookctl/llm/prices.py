"""LLM prices for cost estimates (`bookctl personalize --dry-run`, the sync job summary): USD per 1M tokens.

Override with BOOKCTL_LLM_PRICE_TABLE (JSON or TOML: {"model": {"input": 0.15, "output": 0.60}}). The Batch API
is billed at half these prices.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from bookctl.errors import ConfigError

# standard tier
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
}
BATCH_DISCOUNT = 0.5


def load_prices(path: Path | None) -> dict[str, dict[str, float]]:
    prices = dict(DEFAULT_PRICES)
    if path is None:
        return prices
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text) if Path(path).suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"BOOKCTL_LLM_PRICE_TABLE {path}: {exc}") from None
    for model, row in data.items():
        if not (isinstance(row, dict) and {"input", "output"} <= set(row)):
            raise ConfigError(f"BOOKCTL_LLM_PRICE_TABLE {path}: {model!r} needs input and output prices per 1M tokens")
        prices[model] = {"input": float(row["input"]), "output": float(row["output"])}
    return prices


def cost(prices: dict[str, dict[str, float]], model: str, tokens_in: int, tokens_out: int, *, batch: bool) -> float | None:
    row = prices.get(model)
    if row is None:
        return None
    usd = (tokens_in * row["input"] + tokens_out * row["output"]) / 1_000_000
    return round(usd * (BATCH_DISCOUNT if batch else 1.0), 6)
