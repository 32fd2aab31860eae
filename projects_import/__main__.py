from __future__ import annotations

from projects_import.cli import main

main()
