"""The operator console (SPEC §4.4's "/dashboard" pages): everything the UI does apart from
HTTP. Its managers read and write under the signed-in user's claims so the database decides
what each role may do — the problems worklist (`worklist`), directory edits (`directories`,
`fixes`) — and its view helpers: what the Overview reads (`overview`), its charts (`charts`:
plain SVG; `view`: the four figures), words and times (`format`, `local_time`, `schedule`),
and the `templates` and `static` files. The HTTP side is `api/pages.py` (sign-in, sessions,
rendering) and `api/routes/console_*.py`."""
