"""Learner services (users, onboarding/preferences, progress, recommendations), free of any transport.

Every service function takes a SQLAlchemy Session as its first argument and flushes, never commits: the
caller (an API request, a CLI command, a test) owns the unit of work.
"""
