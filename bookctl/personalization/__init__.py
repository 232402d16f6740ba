"""Personalized lesson variants: shared per learner profile, guarded, cached, generated once."""
