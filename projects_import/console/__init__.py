"""The operator console's work: the problems worklist and directory edits, read and written
under the signed-in user's claims so the database decides what each role may do."""
