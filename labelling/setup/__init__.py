"""Setting projects up on the store: a project from a CSV file (the Setup page and `labelling import` share it), and the demo projects."""
