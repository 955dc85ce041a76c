"""The incident tracker: classification codes, policy, lifecycle, timeline, post-mortems and statistics."""
