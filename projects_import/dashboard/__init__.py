"""The operator dashboard (SPEC §4.4): what it reads (`data`, under the user's role), its
charts (`charts`: plain SVG; `view`: the four figures) and its `templates` and `static` files.
The HTTP side — sign-in, sessions, the page — is `api/routes/dashboard.py`."""
