"""Readers for the real datasets' on-disk formats (OMG-Emotion, Aff-Wild2) and the FrameStore."""
