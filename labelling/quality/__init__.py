"""Quality control without SQL: final labels by consensus, and agreement measures (kappa, alpha)."""
