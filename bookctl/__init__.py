"""bookctl: the content pipeline and learner API behind a personalized textbook."""

__version__ = "0.1.0"
