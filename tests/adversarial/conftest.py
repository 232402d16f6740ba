"""The standing adversarial suite (issue 11): malformed books, edit sequences, API fuzz, slow clients.

Every case runs on SQLite and PostgreSQL where a database is involved, in bounded time.
"""

from tests.api.conftest import book_env  # noqa: F401  (the synced fixture book on each dialect)
from tests.search.conftest import embed_ws, openai_env  # noqa: F401  (the fixture book wired to the fake OpenAI)
