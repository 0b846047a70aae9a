"""The learning loop: features and models, query strategies, one training run, and the worker that schedules runs."""
