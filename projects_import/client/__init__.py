"""The upstream client behind `projects-import send` (SPEC §8): read an export, split it into
parts, post them with the runbook's retry policy, and report what happened to each."""

from __future__ import annotations
