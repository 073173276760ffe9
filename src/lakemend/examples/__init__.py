"""Example projects and the deterministic landing-data generator (``data``)."""
