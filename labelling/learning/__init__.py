"""The learning loop: features, models, query strategies, training runs and the worker that schedules them."""
