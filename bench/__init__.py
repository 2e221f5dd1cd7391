"""cnlab's benchmark: every speed the learner and the grader feel, beside a baseline.

Run ``.venv/bin/python bench/run.py`` (or ``cnlab dev bench``); see
``docs/benchmarks.md`` for the latest figures and how they were measured.
"""
