"""Milestone checks: real packets and kernel state, and diagnoses of failures.

``checks.engine.check_lesson(world, lesson)`` runs a lesson's milestones
against a live world and returns a :class:`checks.report.LessonReport`.
This package never imports Textual.
"""
