"""Editors' review of personalized variants (issue 15): list, read beside the original, approve, reject, regenerate.

Transport-free: `service` takes a Session (and the store/personalization service where needed) and returns the
dataclasses in `schemas`; the web page (`bookctl.api.review`) and the CLI (`bookctl.cli.review`) render them.
"""
