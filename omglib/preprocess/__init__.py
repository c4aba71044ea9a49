"""Sec. 4 of the paper: face detection, 68 landmarks, Procrustes alignment, crop -> FrameStore."""
