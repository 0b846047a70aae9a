"""Setting projects up on the store: a project from a CSV file (the Setup page and `labelling import` share it, and
the column guesses that make a plain file need no choices), annotation files, and the demo projects."""
