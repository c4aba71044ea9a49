"""omglib: multi-CNN-feature CNN-RNN dimensional emotion recognition on OMG-Emotion.

A thin library behind the book: data readers, the surrogate generator, metrics and the
CCC loss. Heavy dependencies (torch, cv2, dlib) are imported by the modules that need
them, so `import omglib` and `omg --help` stay fast.
"""

__version__ = "0.1.0"
