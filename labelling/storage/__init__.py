"""The storage layer, the one door into the database: only it opens connections and transactions (`Store`)."""
